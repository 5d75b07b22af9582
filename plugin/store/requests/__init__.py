"""Redis records around human requests beside the inbox itself: who stands in for whom (absences), the
per-request decision locks, the analytics facts and time indexes kept by the inbox's write script, and the
answers of bulk decisions kept for their retries."""
