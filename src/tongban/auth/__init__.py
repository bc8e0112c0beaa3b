"""Users, roles and scopes, sessions and tokens, and the access funnels every read goes through."""
