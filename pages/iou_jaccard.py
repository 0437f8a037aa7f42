"""Placeholder: being written."""

import streamlit as st

st.title("iou_jaccard")
st.info("This page is being written.")
