"""Discovery shim for ``ops.lib.use``: the real package is :mod:`pgsql` itself."""
