"""The bioseq dashboard (Streamlit): ``app.py`` is the frame, this package everything the pages share.

- :mod:`dashboard.pages`: the page list (path, title, icon, section, caption), read by the frame and the tests;
- :mod:`dashboard.loaders`: cached loaders (``st.cache_resource`` for models and the job registry,
  ``st.cache_data`` for parsed data and interpretation tables);
- :mod:`dashboard.state`: session state shared by the pages and the page address (``?data=``);
- :mod:`dashboard.widgets`: widgets and placement (error wording, charts and tables with downloads, pickers);
- ``dashboard/views/``: the page scripts, one per page of the list;
- :mod:`dashboard.parts`: page parts a page calls (not pages themselves).

Only this package and ``app.py`` import Streamlit; everything they show comes from ``bioseq``. Heavy
libraries (PyTorch, scikit-learn, pandas) are imported inside the helpers, so the home page paints its first
elements before they have loaded.
"""

import os

# PyTorch's OpenMP threads spin while they wait for work. On a busy or shared machine that starves
# every other thread (measured: predictions 9x slower at load 8 on 2 cores, the page stalls while a
# model trains). Passive waiting avoids it; it must be set before PyTorch is imported, so here, where
# every dashboard module is imported from.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
