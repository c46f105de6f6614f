"""BTree-backed containers.

Only ``Folder.add`` sets ``__name__``/``__parent__``; nothing else may. The item BTree is
created on the first add, so the many small folders of a case cost one small object each
until something is filed into them. A folder keeps a ``Length`` of its items unless its
class says ``counted = False`` (then ``len`` counts the BTree): for the big folders written
at every registration whose length no page asks for, that is one object less to store each
time. Folders stored with a ``Length`` keep it.
"""
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class Folder(Persistent):
    __name__ = None
    __parent__ = None
    _items = None
    _count = None
    title = ""
    counted = True

    def _ensure(self):
        if self._items is None:
            self._items = OOBTree()
            if self.counted:
                self._count = Length()

    def add(self, name, obj):
        if not isinstance(name, str) or not name or "/" in name or name.startswith("@@"):
            raise ValueError(f"bad name {name!r}")
        self._ensure()
        if name in self._items:
            raise KeyError(f"{name!r} exists")
        obj.__name__ = name
        obj.__parent__ = self
        self._items[name] = obj
        if self._count is not None:
            self._count.change(1)
        return obj

    def remove(self, name):
        obj = self._items.pop(name)
        if self._count is not None:
            self._count.change(-1)
        return obj

    def __getitem__(self, name):
        if self._items is None:
            raise KeyError(name)
        return self._items[name]

    def get(self, name, default=None):
        if self._items is None:
            return default
        return self._items.get(name, default)

    def __contains__(self, name):
        return self._items is not None and name in self._items

    def __len__(self):
        if self._count is not None:
            return self._count()
        return 0 if self._items is None else len(self._items)

    def __bool__(self):
        return True

    def keys(self, min=None, max=None):
        return [] if self._items is None else self._items.keys(min, max)

    def values(self):
        return [] if self._items is None else self._items.values()

    def items(self):
        return [] if self._items is None else self._items.items()

    def __iter__(self):
        return iter(self.keys())
