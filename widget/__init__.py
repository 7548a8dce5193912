# Marks the widget sources as the data package `server.web.widget` (see setup.py), so an
# installed Beckon finds them through importlib.resources. No Python code lives here.
