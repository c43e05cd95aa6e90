"""Page steps that either give their result or put their message on the page and stop it (never a traceback).
Shared by the classifier and labeller variants of Gates & saliency and Predict. Not a page."""

import streamlit as st

from bioseq.errors import BioseqError
from dashboard import widgets


def records_or_stop(load):
    """``load()`` returns a tuple whose first item is the records; an input error, or no records, stops the page."""
    try:
        result = load()
    except BioseqError as e:
        widgets.error(e)
        st.stop()
    if not result[0]:
        st.info("Choose a dataset on the Data page, paste a sequence or upload a FASTA file.", icon=":material/info:")
        st.stop()
    return result


def with_progress(slot, start: str, done: str, work):
    """``work(progress)`` with a progress bar in ``slot`` (``done`` is formatted with ``done`` and ``total``);
    an input error is the page's message and stops it."""
    bar = slot.progress(0.0, text=start)
    try:
        return work(lambda n, total: bar.progress(n / max(total, 1), text=done.format(done=n, total=total)))
    except BioseqError as e:
        widgets.error(e)
        st.stop()
    finally:
        bar.empty()
