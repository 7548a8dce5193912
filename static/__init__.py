# Marks the console, admin and demo shop as the data package `server.web.static` (see
# setup.py), so an installed Beckon finds them through importlib.resources. No Python here.
