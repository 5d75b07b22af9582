"""The read model, below the API: a run composed from its Redis snapshot, its requests' inbox documents and
Temporal (with the freshness and repair rules that decide when Temporal is asked), and the rebuild of the inbox
from Temporal. Used by the API's views and the worker; it knows nothing of HTTP."""
