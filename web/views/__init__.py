"""The HTML pages: login, home, planner, supervisor and officer pages, and the Folium
map skeleton they share (:mod:`web.views.maps`). Pages carry no data beyond their
controls: the browser fetches everything from :mod:`web.api` by bbox and zoom."""
