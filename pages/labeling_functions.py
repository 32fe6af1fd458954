"""Placeholder."""

import streamlit as st

st.title("labeling_functions")
