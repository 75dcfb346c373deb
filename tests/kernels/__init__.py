"""Helpers shared by the compiled kernels' tests."""


def on_threads(n: int, fn):
    """``fn()`` with foveanet at ``n`` threads; the count is put back after."""
    import foveanet

    before = foveanet.get_num_threads()
    foveanet.set_num_threads(n)
    try:
        return fn()
    finally:
        foveanet.set_num_threads(before)
