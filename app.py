"""bioseq dashboard: the frame. Run ``streamlit run app.py`` (``-- --example dna_motif`` opens on an example).

The frame sets the page configuration and each page's header once, and lists the pages of
:data:`dashboard.pages.PAGES` in the order of the work: data and training, looking inside, then using the model.
"""

import streamlit as st

from dashboard.pages import FAVICON, PAGES

# The tab's icon before the navigation: the browser would otherwise take the page's icon (":material/...:"),
# which it fetches from fonts.gstatic.com; the dashboard makes no request off the machine.
st.set_page_config(page_icon=FAVICON, layout="wide")
page = st.navigation({section: [st.Page(p.path, title=p.title, icon=p.icon, default=p == PAGES[0])
                                for p in PAGES if p.section == section]
                      for section in dict.fromkeys(p.section for p in PAGES)})
st.set_page_config(page_title=f"{page.title} · bioseq")
info = next(p for p in PAGES if p.title == page.title)
st.title(info.heading or info.title)
st.caption(info.caption)
page.run()
