"""Placeholder: being written."""

import streamlit as st

st.title("geometry")
st.info("This page is being written.")
