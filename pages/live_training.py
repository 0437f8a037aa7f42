"""Placeholder: being written."""

import streamlit as st

st.title("live_training")
st.info("This page is being written.")
