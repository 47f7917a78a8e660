"""The database: pool, dialects, schema, the unit of work and its repositories.

The unit of work is ``DatabaseContext`` (context.py); a listing page's rows stay here
(public_json.py).
"""
