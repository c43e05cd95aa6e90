"""Glossary: every entry of :mod:`bioseq.app.glossary` (the texts of the "?" tooltips), with a search box."""

import streamlit as st

from bioseq.app import glossary

query = st.text_input("Find a term", key="glossary_query", placeholder="a word of the term or its explanation",
                      help="case-insensitive; searches the terms and their explanations")
found = glossary.search(query)
if not found:
    st.info(f"No entry mentions “{query.strip()}”.", icon=":material/info:")
for term in found:
    st.markdown(f"**{term[:1].upper() + term[1:]}**  \n{glossary.TERMS[term]}")
