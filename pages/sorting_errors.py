"""Placeholder: being written."""

import streamlit as st

st.title("sorting_errors")
st.info("This page is being written.")
