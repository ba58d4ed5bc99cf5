"""Teacher backends behind one interface (:mod:`cotlit.teach.backends.base`); each is imported only when chosen."""
