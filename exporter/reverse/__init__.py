"""The reverse pipeline: the mirror put back into S3 when Moto restarted empty.

- `restart.py`: at the start of a full pass, did Moto restart? If so, run the restore and record what
  came back (manifest store, /status);
- `restore.py`: what is missing (pure) and the uploads of the mirror's buckets and objects;
- `bulk_import.py`: the same uploads as one streamed POST of the gateway's bulk API, where it has one.
"""
