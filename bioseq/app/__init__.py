"""The dashboard's helpers that need no Streamlit: uploads, data reports, model cards, prediction
tables, gradient-flow reports and chart downloads. Pages call these; these never import Streamlit."""
