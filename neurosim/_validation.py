"""Transitional alias of :mod:`neurosim.validation` (the boundary checks, now public): kept only until every
importer says ``neurosim.validation``; nothing in the project imports this name."""

from neurosim.validation import *  # noqa: F403
from neurosim.validation import __all__  # noqa: F401
