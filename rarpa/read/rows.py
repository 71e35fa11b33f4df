"""Rows into the read model as fast as plain SQL: the projection writes a row
or two per event, and sqlite-utils' ``insert``/``upsert`` look the table up
and build their statement every time (most of a rebuild's time went there).
``Rows`` wraps a sqlite-utils Database and gives the projection the same
``db[table].insert/upsert/insert_all`` calls, with each statement built once
per table and set of columns, values converted exactly as sqlite-utils
converts them (``jsonify_if_needed``). Anything else goes to sqlite-utils."""

from __future__ import annotations

from typing import Any, Iterable

import sqlite_utils
from sqlite_utils.db import jsonify_if_needed


_AS_THEY_ARE = {str, int, float, type(None), bytes}  # what sqlite-utils would pass through unchanged


class _Table:
    def __init__(self, db: sqlite_utils.Database, name: str):
        self._db = db
        self.name = name
        self._sql: dict[tuple, str] = {}

    def _statement(self, columns: tuple[str, ...], verb: str, pk: tuple[str, ...] = ()) -> str:
        key = (columns, verb, pk)
        sql = self._sql.get(key)
        if sql is None:
            names = ", ".join(f"[{c}]" for c in columns)
            marks = ", ".join("?" * len(columns))
            sql = f"{verb} INTO [{self.name}] ({names}) VALUES ({marks})"
            if pk:
                rest = [c for c in columns if c not in pk]
                action = ("DO UPDATE SET " + ", ".join(f"[{c}]=excluded.[{c}]" for c in rest)) if rest else "DO NOTHING"
                sql += f" ON CONFLICT ({', '.join(f'[{c}]' for c in pk)}) {action}"
            self._sql[key] = sql
        return sql

    @staticmethod
    def _values(row: dict) -> list:
        return [v if type(v) in _AS_THEY_ARE else jsonify_if_needed(v) for v in row.values()]

    def insert(self, row: dict, replace: bool = False, **_: Any) -> None:
        self._db.execute(self._statement(tuple(row), "INSERT OR REPLACE" if replace else "INSERT"), self._values(row))

    def insert_all(self, rows: Iterable[dict], **_: Any) -> None:
        groups: dict[tuple, list] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(self._values(row))
        for columns, values in groups.items():
            self._db.conn.executemany(self._statement(columns, "INSERT"), values)

    def upsert(self, row: dict, pk: str | tuple[str, ...], **_: Any) -> None:
        keys = (pk,) if isinstance(pk, str) else tuple(pk)
        self._db.execute(self._statement(tuple(row), "INSERT", keys), self._values(row))

    def __getattr__(self, name: str):  # update, delete_where...: sqlite-utils' own
        return getattr(self._db[self.name], name)


class Rows:
    def __init__(self, db: sqlite_utils.Database):
        self._db = db
        self.execute = db.execute
        self.conn = db.conn
        self._tables: dict[str, _Table] = {}

    def __getitem__(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _Table(self._db, name)
        return table

    def __getattr__(self, name: str):
        return getattr(self._db, name)
