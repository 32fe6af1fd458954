"""One BLAS thread around the label model's skinny products, switched through one cached controller.

The interactive computations multiply tall, thin matrices (rows x a few dozen LF features).  Threads buy
little on such shapes and, on a busy 2-core machine, spinning OpenBLAS threads made a 10,000 x 20 label-model
fit take 0.9 s instead of 0.03 s, a 20,000 x 40 Gram matrix 0.9 s instead of ~2 ms and a 1M x 40 one 13.7 s
instead of 0.13 s (measured under load).  ``threadpoolctl.threadpool_limits`` finds the loaded libraries
again on every call (2.4-5 ms here, more than the product it guards at 10,000 rows); a controller made once
switches in ~0.03 ms.  It knows the BLAS libraries loaded when it was made (numpy's, imported with this
module), which are the ones these products use.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["one_blas_thread"]

_controller: Any = None
_lock = threading.Lock()


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context manager that limits BLAS to one thread inside it (process-wide, as BLAS settings are)."""
    global _controller
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
