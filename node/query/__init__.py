"""SQL introspection: Restate's `/query` over Perdure's partition stores (node/query/service.py
says where queries run and what they see; engine.py the SQL session; rows.py the tables)."""
