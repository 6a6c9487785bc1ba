"""The Streamlit dashboard: a thin layer over `scoring` (all computing lives there)."""
