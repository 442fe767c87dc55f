"""Root conftest. The settings module picks SHEQU_ENV=test under pytest (fixed keys, fast
password hashing); `make test` also sets it explicitly."""
