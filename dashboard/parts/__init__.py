"""Page parts: panels and controls that pages in ``dashboard/views/`` call. None of them is a page."""
