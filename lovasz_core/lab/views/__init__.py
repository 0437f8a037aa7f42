"""What each page of the app draws, computed in one pure function per page.

A view function takes the page's settings and returns a frozen dataclass of numpy arrays, floats,
ints and strings; the page only lays these out. Modules are named after the pages.
"""
