"""Realistic agent-written snippets (what an LLM writes in a CodeAgent step), for measuring
how much ordinary code runs unchanged under the sandbox policy (bench/compat.py).

Each snippet prints and/or ends with an expression (or sets `result`); `imports` lists the
modules it needs beyond the default allowlist (smolagents' BASE_BUILTIN_MODULES). Output
must be deterministic: no wall-clock times, seeded randomness, no id()/hash of str.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

__all__ = ["Snippet", "SNIPPETS"]


@dataclass(frozen=True)
class Snippet:
    name: str
    code: str
    imports: tuple[str, ...] = ()


SNIPPETS: list[Snippet] = []


def _s(name: str, code: str, *imports: str) -> None:
    SNIPPETS.append(Snippet(name, textwrap.dedent(code).strip("\n") + "\n", imports))


# ---------------------------------------------------------------- data wrangling
_s("dict_of_lists_aggregate", """
    sales = [{"region": "north", "amount": 120}, {"region": "south", "amount": 80},
             {"region": "north", "amount": 45}, {"region": "east", "amount": 200}]
    totals = {}
    for row in sales:
        totals[row["region"]] = totals.get(row["region"], 0) + row["amount"]
    print(totals)
    max(totals, key=totals.get)
""")
_s("list_comprehension_filter", """
    numbers = list(range(1, 31))
    evens_squared = [n ** 2 for n in numbers if n % 2 == 0]
    print(f"Found {len(evens_squared)} values, sum = {sum(evens_squared)}")
    evens_squared[:5]
""")
_s("dict_comprehension_invert", """
    capitals = {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima"}
    by_city = {city: country for country, city in capitals.items()}
    print(by_city["Tokyo"])
    sorted(by_city)
""")
_s("nested_comprehension_matrix", """
    matrix = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    transposed = [[row[i] for row in matrix] for i in range(3)]
    flat = [x for row in matrix for x in row]
    print(transposed)
    print(flat)
""")
_s("group_by_first_letter", """
    words = ["apple", "avocado", "banana", "blueberry", "cherry", "cranberry", "date"]
    groups = {}
    for w in words:
        groups.setdefault(w[0], []).append(w)
    for letter, items in sorted(groups.items()):
        print(letter, "->", ", ".join(items))
""")
_s("sort_records_multi_key", """
    people = [("alice", 31, "NY"), ("bob", 25, "LA"), ("carol", 31, "SF"), ("dave", 25, "NY")]
    people.sort(key=lambda p: (-p[1], p[0]))
    for name, age, city in people:
        print(f"{name:<6} {age:>3} {city}")
""")
_s("set_operations", """
    a = {"python", "rust", "go", "java"}
    b = {"go", "java", "kotlin"}
    print(sorted(a & b), sorted(a - b), sorted(a ^ b))
    result = len(a | b)
""")
_s("zip_enumerate", """
    names = ["x", "y", "z"]
    values = [10, 20, 30]
    for i, (n, v) in enumerate(zip(names, values), start=1):
        print(i, n, v)
    dict(zip(names, values))
""")
_s("running_total", """
    data = [3, 1, 4, 1, 5, 9, 2, 6]
    running = []
    total = 0
    for x in data:
        total += x
        running.append(total)
    print(running)
    running[-1] / len(data)
""")
_s("pivot_table", """
    rows = [("2024-01", "A", 5), ("2024-01", "B", 3), ("2024-02", "A", 7), ("2024-02", "B", 1)]
    table = {}
    for month, product, qty in rows:
        table.setdefault(month, {})[product] = qty
    print("month   " + "  ".join(sorted({p for _, p, _ in rows})))
    for month in sorted(table):
        print(month, "  ".join(str(table[month].get(p, 0)) for p in "AB"))
""")
_s("top_n_by_value", """
    scores = {"ann": 88, "ben": 95, "cid": 72, "dan": 95, "eve": 60}
    top3 = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    print(top3)
    [name for name, _ in top3]
""")
_s("dedupe_preserve_order", """
    items = ["b", "a", "b", "c", "a", "d"]
    seen = set()
    unique = []
    for it in items:
        if it not in seen:
            seen.add(it)
            unique.append(it)
    print(unique, list(dict.fromkeys(items)))
""")
_s("chunk_list", """
    def chunks(seq, size):
        return [seq[i:i + size] for i in range(0, len(seq), size)]
    print(chunks(list(range(10)), 3))
    len(chunks("abcdefg", 2))
""")
_s("flatten_nested", """
    def flatten(x):
        out = []
        for item in x:
            if isinstance(item, (list, tuple)):
                out.extend(flatten(item))
            else:
                out.append(item)
        return out
    flatten([1, [2, [3, 4], (5,)], [[6]]])
""")
_s("merge_dicts", """
    defaults = {"color": "red", "size": "M", "qty": 1}
    override = {"size": "L", "qty": 3}
    merged = {**defaults, **override}
    merged2 = defaults | override
    print(merged == merged2, merged)
""")
_s("csv_like_parsing", """
    raw = '''name,age,city
    Alice,30,Paris
    Bob,25,Berlin
    Chloe,35,Madrid'''
    lines = [l.strip() for l in raw.strip().splitlines()]
    header = lines[0].split(",")
    records = [dict(zip(header, l.split(","))) for l in lines[1:]]
    avg_age = sum(int(r["age"]) for r in records) / len(records)
    print(records[1])
    print(f"Average age: {avg_age:.1f}")
""")
_s("matrix_multiply", """
    def matmul(a, b):
        return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]
    A = [[1, 2], [3, 4]]
    B = [[5, 6], [7, 8]]
    matmul(A, B)
""")
_s("histogram_text", """
    data = [1, 3, 3, 2, 5, 3, 1, 2]
    counts = {k: data.count(k) for k in sorted(set(data))}
    for k, c in counts.items():
        print(f"{k}: {'#' * c}")
""")
_s("nested_dict_access", """
    config = {"db": {"host": "localhost", "ports": [5432, 5433]}, "debug": True}
    host = config.get("db", {}).get("host", "?")
    second = config["db"]["ports"][1]
    missing = config.get("cache", {}).get("ttl")
    print(host, second, missing)
""")
_s("list_slicing_tricks", """
    s = list(range(10))
    print(s[::2], s[::-1][:3], s[-3:])
    s[2:5] = ["a", "b"]
    s
""")
_s("any_all_checks", """
    orders = [{"id": 1, "paid": True}, {"id": 2, "paid": False}, {"id": 3, "paid": True}]
    print(all(o["paid"] for o in orders), any(not o["paid"] for o in orders))
    result = [o["id"] for o in orders if not o["paid"]]
""")
_s("min_max_with_key", """
    cities = [("Tokyo", 37.4), ("Delhi", 31.0), ("Shanghai", 27.1), ("Sao Paulo", 22.0)]
    biggest = max(cities, key=lambda c: c[1])
    smallest = min(cities, key=lambda c: c[1])
    print(f"Biggest: {biggest[0]} ({biggest[1]}M), smallest: {smallest[0]}")
""")
_s("sum_by_key_tuples", """
    transactions = [("food", 12.5), ("rent", 900), ("food", 30.25), ("fun", 45)]
    by_cat = {}
    for cat, amt in transactions:
        by_cat[cat] = round(by_cat.get(cat, 0) + amt, 2)
    sorted(by_cat.items(), key=lambda x: x[1], reverse=True)
""")
_s("string_table_alignment", """
    rows = [("Item", "Qty", "Price"), ("Widget", 3, 4.5), ("Gadget", 12, 19.99)]
    for name, qty, price in rows:
        print(f"{name:<10}|{qty!s:>5}|{price!s:>8}")
""")
_s("inventory_update", """
    inventory = {"apples": 10, "pears": 4}
    orders = [("apples", 3), ("pears", 5), ("kiwis", 1)]
    failed = []
    for item, qty in orders:
        if inventory.get(item, 0) >= qty:
            inventory[item] -= qty
        else:
            failed.append(item)
    print(inventory, failed)
""")
_s("word_frequency_manual", """
    text = "the quick brown fox jumps over the lazy dog the end"
    freq = {}
    for w in text.split():
        freq[w] = freq.get(w, 0) + 1
    print(sorted(freq.items(), key=lambda kv: -kv[1])[:2])
""")
_s("list_of_dicts_to_columns", """
    rows = [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    cols
""")
_s("binary_search_manual", """
    def bsearch(arr, target):
        lo, hi = 0, len(arr) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if arr[mid] == target:
                return mid
            if arr[mid] < target:
                lo = mid + 1
            else:
                hi = mid - 1
        return -1
    arr = list(range(0, 100, 3))
    print(bsearch(arr, 27), bsearch(arr, 28))
""")
_s("bytes_and_encoding", """
    s = "héllo wörld"
    b = s.encode("utf-8")
    print(len(s), len(b), b[:6])
    b.decode("utf-8").upper()
""")
_s("int_conversions", """
    print(int("ff", 16), bin(10), hex(255), oct(8), int("0b101", 0))
    print(round(2.675, 2), round(7.5), divmod(17, 5), abs(-3.2))
    (1_000_000).bit_length()
""")

# ---------------------------------------------------------------- classes
_s("class_with_private_and_property", """
    class BankAccount:
        def __init__(self, owner, balance=0):
            self.owner = owner
            self._balance = balance

        @property
        def balance(self):
            return self._balance

        def deposit(self, amount):
            if amount <= 0:
                raise ValueError("amount must be positive")
            self._balance += amount
            return self._balance

    acct = BankAccount("Ann", 100)
    acct.deposit(50)
    print(acct.owner, acct.balance)
""")
_s("class_repr_eq", """
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y
        def __repr__(self):
            return f"Point({self.x!r}, {self.y!r})"
        def __eq__(self, other):
            return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)
        def __hash__(self):
            return hash((self.x, self.y))
    pts = {Point(1, 2), Point(1, 2), Point(3, 4)}
    print(len(pts), Point(1, 2) == Point(1, 2))
    sorted(pts, key=lambda p: p.x)
""")
_s("operator_overloading_vector", """
    class Vector:
        def __init__(self, *coords):
            self.coords = tuple(coords)
        def __add__(self, other):
            return Vector(*(a + b for a, b in zip(self.coords, other.coords)))
        def __mul__(self, k):
            return Vector(*(a * k for a in self.coords))
        __rmul__ = __mul__
        def __len__(self):
            return len(self.coords)
        def __getitem__(self, i):
            return self.coords[i]
        def __iter__(self):
            return iter(self.coords)
        def __abs__(self):
            return sum(c * c for c in self.coords) ** 0.5
        def __repr__(self):
            return f"Vector{self.coords}"
    v = Vector(1, 2) + Vector(3, 4)
    print(v, 2 * v, abs(Vector(3, 4)), len(v), v[0], list(v))
""")
_s("inheritance_super", """
    class Animal:
        def __init__(self, name):
            self.name = name
        def speak(self):
            return f"{self.name} makes a sound"
    class Dog(Animal):
        def __init__(self, name, breed):
            super().__init__(name)
            self.breed = breed
        def speak(self):
            return super().speak() + " (woof)"
    d = Dog("Rex", "lab")
    print(d.speak(), isinstance(d, Animal), type(d).__name__)
""")
_s("counter_attribute_increment", """
    class Counter:
        instances = 0
        def __init__(self):
            self.n = 0
            Counter.instances += 1
        def tick(self):
            self.n += 1
            return self
    c = Counter()
    c.tick().tick().tick()
    c2 = Counter()
    c2.n += 10
    print(c.n, c2.n, Counter.instances)
""")
_s("classmethod_staticmethod", """
    class Temperature:
        def __init__(self, celsius):
            self.celsius = celsius
        @classmethod
        def from_fahrenheit(cls, f):
            return cls((f - 32) * 5 / 9)
        @staticmethod
        def is_freezing(c):
            return c <= 0
        def __str__(self):
            return f"{self.celsius:.1f}°C"
    t = Temperature.from_fahrenheit(212)
    print(t, Temperature.is_freezing(t.celsius), str(Temperature(-3)))
""")
_s("property_setter_validation", """
    class Person:
        def __init__(self, age):
            self.age = age
        @property
        def age(self):
            return self._age
        @age.setter
        def age(self, value):
            if value < 0:
                raise ValueError("age cannot be negative")
            self._age = value
    p = Person(30)
    p.age = 31
    try:
        p.age = -1
    except ValueError as e:
        print("Error:", e)
    p.age
""")
_s("abstract_like_base", """
    class Shape:
        def area(self):
            raise NotImplementedError
        def describe(self):
            return f"{self.__class__.__name__} with area {self.area():.2f}"
    class Circle(Shape):
        def __init__(self, r):
            self.r = r
        def area(self):
            return 3.14159 * self.r ** 2
    class Square(Shape):
        def __init__(self, s):
            self.s = s
        def area(self):
            return self.s ** 2
    for s in [Circle(1), Square(2)]:
        print(s.describe())
""")
_s("context_manager_class", """
    class Timer:
        def __init__(self, label):
            self.label = label
            self.log = []
        def __enter__(self):
            self.log.append(f"start {self.label}")
            return self
        def __exit__(self, exc_type, exc, tb):
            self.log.append(f"end {self.label} error={exc_type.__name__ if exc_type else None}")
            return False
    with Timer("job") as t:
        total = sum(range(100))
    print(t.log, total)
""")
_s("iterator_class", """
    class Countdown:
        def __init__(self, start):
            self.current = start
        def __iter__(self):
            return self
        def __next__(self):
            if self.current <= 0:
                raise StopIteration
            self.current -= 1
            return self.current + 1
    list(Countdown(5))
""")
_s("comparison_ordering", """
    class Version:
        def __init__(self, s):
            self.parts = tuple(int(p) for p in s.split("."))
        def __lt__(self, other):
            return self.parts < other.parts
        def __eq__(self, other):
            return self.parts == other.parts
        def __repr__(self):
            return ".".join(map(str, self.parts))
    versions = [Version(v) for v in ["1.10.0", "1.2.3", "1.2.10", "0.9"]]
    print(sorted(versions), max(versions))
""")
_s("slots_class", """
    class Pixel:
        __slots__ = ("x", "y", "color")
        def __init__(self, x, y, color="black"):
            self.x, self.y, self.color = x, y, color
    p = Pixel(1, 2)
    try:
        p.z = 3
    except AttributeError:
        print("no z allowed")
    (p.x, p.y, p.color)
""")
_s("class_registry_decorator", """
    REGISTRY = {}
    def register(cls):
        REGISTRY[cls.__name__.lower()] = cls
        return cls
    @register
    class Csv:
        ext = ".csv"
    @register
    class Json:
        ext = ".json"
    print(sorted(REGISTRY), REGISTRY["json"].ext)
""")
_s("linked_list", """
    class Node:
        def __init__(self, value, next=None):
            self.value = value
            self.next = next
    class LinkedList:
        def __init__(self):
            self.head = None
            self._size = 0
        def push(self, v):
            self.head = Node(v, self.head)
            self._size += 1
        def __iter__(self):
            node = self.head
            while node:
                yield node.value
                node = node.next
        def __len__(self):
            return self._size
    ll = LinkedList()
    for i in range(4):
        ll.push(i)
    print(list(ll), len(ll))
""")
_s("stack_queue_class", """
    class Stack:
        def __init__(self):
            self._items = []
        def push(self, x):
            self._items.append(x)
        def pop(self):
            return self._items.pop()
        def peek(self):
            return self._items[-1] if self._items else None
        def __bool__(self):
            return bool(self._items)
    s = Stack()
    for ch in "abc":
        s.push(ch)
    out = []
    while s:
        out.append(s.pop())
    "".join(out)
""")
_s("callable_object", """
    class Multiplier:
        def __init__(self, factor):
            self.factor = factor
        def __call__(self, x):
            return x * self.factor
    triple = Multiplier(3)
    print(list(map(triple, [1, 2, 3])), callable(triple))
""")
_s("contains_and_getitem_dictlike", """
    class Config:
        def __init__(self, **kwargs):
            self._data = dict(kwargs)
        def __getitem__(self, key):
            return self._data[key]
        def __setitem__(self, key, value):
            self._data[key] = value
        def __contains__(self, key):
            return key in self._data
        def __getattr__(self, name):
            try:
                return self._data[name]
            except KeyError:
                raise AttributeError(name)
    c = Config(debug=True, level=3)
    c["level"] = 4
    print("debug" in c, c.level, c["debug"])
""")
_s("class_attributes_and_instances", """
    class Employee:
        raise_pct = 1.05
        count = 0
        def __init__(self, name, pay):
            self.name = name
            self.pay = pay
            Employee.count += 1
        def apply_raise(self):
            self.pay = int(self.pay * self.raise_pct)
    e1 = Employee("A", 50000)
    e2 = Employee("B", 60000)
    e2.raise_pct = 1.10
    e1.apply_raise(); e2.apply_raise()
    print(e1.pay, e2.pay, Employee.count)
""")
_s("multiple_inheritance_mixin", """
    class JsonMixin:
        def to_dict(self):
            return {k: v for k, v in sorted(self.__dict__.items()) if not k.startswith("_")}
    class Base:
        def __init__(self, ident):
            self.ident = ident
            self._secret = "x"
    class Item(JsonMixin, Base):
        def __init__(self, ident, label):
            super().__init__(ident)
            self.label = label
    Item(7, "seven").to_dict()
""")
_s("vars_for_serialization", """
    class Settings:
        def __init__(self):
            self.theme = "dark"
            self.font_size = 12
    s = Settings()
    s.font_size += 2
    print(vars(s))
""")
_s("dict_update_init", """
    class Record:
        def __init__(self, **fields):
            self.__dict__.update(fields)
        def __repr__(self):
            items = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
            return f"Record({items})"
    r = Record(name="widget", price=9.5)
    r.price *= 2
    r
""")
_s("custom_exception_hierarchy", """
    class AppError(Exception):
        pass
    class NotFound(AppError):
        def __init__(self, key):
            super().__init__(f"{key!r} not found")
            self.key = key
    def lookup(d, k):
        if k not in d:
            raise NotFound(k)
        return d[k]
    try:
        lookup({"a": 1}, "b")
    except AppError as e:
        print(type(e).__name__, e, e.key)
""")
_s("str_and_format_dunder", """
    class Money:
        def __init__(self, cents):
            self.cents = cents
        def __str__(self):
            return f"${self.cents / 100:,.2f}"
        def __format__(self, spec):
            return format(str(self), spec)
    m = Money(1234567)
    print(str(m), f"[{m:>15}]")
""")
_s("bool_and_len_protocol", """
    class Basket:
        def __init__(self, items=None):
            self.items = list(items or [])
        def __len__(self):
            return len(self.items)
    print(bool(Basket()), bool(Basket(["x"])), len(Basket("abc")))
""")
_s("class_method_chaining_builder", """
    class Query:
        def __init__(self):
            self._table = None
            self._where = []
            self._limit = None
        def table(self, t):
            self._table = t
            return self
        def where(self, cond):
            self._where.append(cond)
            return self
        def limit(self, n):
            self._limit = n
            return self
        def build(self):
            sql = f"SELECT * FROM {self._table}"
            if self._where:
                sql += " WHERE " + " AND ".join(self._where)
            if self._limit:
                sql += f" LIMIT {self._limit}"
            return sql
    Query().table("users").where("age > 18").where("active = 1").limit(10).build()
""")
_s("name_mangling_private", """
    class Secretive:
        def __init__(self):
            self.__hidden = 42
        def reveal(self):
            return self.__hidden
    s = Secretive()
    print(s.reveal())
""")
_s("init_subclass_hook", """
    class Plugin:
        registry = []
        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            Plugin.registry.append(cls.__name__)
    class A(Plugin):
        pass
    class B(Plugin):
        pass
    Plugin.registry
""")
_s("class_getitem_generic_hint", """
    class Box:
        def __init__(self, item):
            self.item = item
        def __class_getitem__(cls, item):
            return f"Box[{item.__name__}]"
    print(Box[int], Box(3).item)
""")

# ---------------------------------------------------------------- functions, closures, generators
_s("closure_counter_nonlocal", """
    def make_counter():
        count = 0
        def inc():
            nonlocal count
            count += 1
            return count
        return inc
    c = make_counter()
    c(); c()
    c()
""")
_s("decorator_simple", """
    def logged(func):
        def wrapper(*args, **kwargs):
            print(f"calling {func.__name__} with {args}")
            return func(*args, **kwargs)
        return wrapper
    @logged
    def add(a, b):
        return a + b
    add(2, 3)
""")
_s("decorator_with_args", """
    def repeat(n):
        def deco(f):
            def wrapper(*a):
                return [f(*a) for _ in range(n)]
            return wrapper
        return deco
    @repeat(3)
    def greet(name):
        return f"hi {name}"
    greet("bo")
""")
_s("functools_wraps_decorator", """
    import functools
    def trace(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            result = func(*args, **kwargs)
            print(f"{func.__name__}{args} -> {result}")
            return result
        return wrapper
    @trace
    def square(x):
        '''Return x squared.'''
        return x * x
    square(7)
    (square.__name__, square.__doc__)
""", "functools")
_s("lru_cache_fib", """
    from functools import lru_cache
    @lru_cache(maxsize=None)
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)
    print(fib(80))
    fib.cache_info().hits
""", "functools")
_s("generator_function", """
    def primes():
        found = []
        n = 2
        while True:
            if all(n % p for p in found):
                found.append(n)
                yield n
            n += 1
    gen = primes()
    [next(gen) for _ in range(10)]
""")
_s("generator_expression_sum", """
    total = sum(x * x for x in range(1000) if x % 3 == 0)
    print(total)
""")
_s("generator_send_and_yield_from", """
    def inner():
        yield 1
        yield 2
        return "done"
    def outer():
        r = yield from inner()
        yield r
    list(outer())
""")
_s("generator_pipeline", """
    def read_lines(text):
        for line in text.splitlines():
            yield line
    def non_empty(lines):
        return (l for l in lines if l.strip())
    def upper(lines):
        for l in lines:
            yield l.upper()
    text = "alpha\\n\\nbeta\\ngamma\\n"
    list(upper(non_empty(read_lines(text))))
""")
_s("recursion_factorial_memo", """
    memo = {}
    def fact(n):
        if n in memo:
            return memo[n]
        r = 1 if n <= 1 else n * fact(n - 1)
        memo[n] = r
        return r
    print(fact(20))
    len(memo)
""")
_s("recursion_permutations", """
    def perms(s):
        if len(s) <= 1:
            return [s]
        out = []
        for i, ch in enumerate(s):
            for p in perms(s[:i] + s[i + 1:]):
                out.append(ch + p)
        return out
    result = perms("abc")
    print(len(result))
""")
_s("lambda_sorted_map_filter", """
    words = ["banana", "Apple", "cherry", "date"]
    print(sorted(words, key=str.lower))
    print(list(map(lambda w: w[::-1], words)))
    print(list(filter(lambda w: len(w) > 5, words)))
""")
_s("default_and_keyword_args", """
    def describe(name, *, age=None, tags=(), **extra):
        parts = [name]
        if age is not None:
            parts.append(f"age={age}")
        if tags:
            parts.append("tags=" + "/".join(tags))
        parts += [f"{k}={v}" for k, v in sorted(extra.items())]
        return ", ".join(parts)
    print(describe("x"))
    describe("y", age=3, tags=("a", "b"), color="red")
""")
_s("args_kwargs_forwarding", """
    def base(a, b=2, *args, **kwargs):
        return a, b, args, kwargs
    def forward(*args, **kwargs):
        return base(*args, **kwargs)
    forward(1, 3, 4, 5, key="v")
""")
_s("nested_functions_helpers", """
    def analyze(text):
        def words():
            return text.split()
        def longest():
            return max(words(), key=len)
        return {"count": len(words()), "longest": longest()}
    analyze("a quick experiment with nested helpers")
""")
_s("higher_order_compose", """
    def compose(*fns):
        def composed(x):
            for f in reversed(fns):
                x = f(x)
            return x
        return composed
    inc = lambda x: x + 1
    dbl = lambda x: x * 2
    compose(inc, dbl)(5)
""")
_s("global_statement_counter", """
    calls = 0
    def track():
        global calls
        calls += 1
    for _ in range(5):
        track()
    print("calls:", calls)
""")
_s("type_annotations_functions", """
    from typing import Optional
    def find(items: list[str], target: str) -> Optional[int]:
        for i, item in enumerate(items):
            if item == target:
                return i
        return None
    x: int = 5
    scores: dict[str, float] = {"a": 1.5}
    print(find(["a", "b"], "b"), find([], "z"), x, scores)
""", "typing")
_s("typing_annotations_plain", """
    def mean(values: list[float]) -> float:
        return sum(values) / len(values)
    def label(v: float, threshold: float = 0.5) -> str:
        return "high" if v > threshold else "low"
    data: list[float] = [0.2, 0.9, 0.4]
    [label(v) for v in data] + [label(mean(data))]
""")
_s("early_return_guard_clauses", """
    def classify(n):
        if not isinstance(n, int):
            return "not an int"
        if n < 0:
            return "negative"
        if n == 0:
            return "zero"
        return "even" if n % 2 == 0 else "odd"
    [classify(v) for v in [3, 0, -2, "x", 8]]
""")
_s("callback_registry", """
    handlers = {}
    def on(event):
        def deco(fn):
            handlers.setdefault(event, []).append(fn)
            return fn
        return deco
    @on("save")
    def log_save(data):
        return f"saved {data}"
    @on("save")
    def notify(data):
        return f"notified about {data}"
    [h("doc") for h in handlers["save"]]
""")
_s("partial_application", """
    from functools import partial, reduce
    def power(base, exp):
        return base ** exp
    square = partial(power, exp=2)
    print([square(i) for i in range(5)])
    reduce(lambda a, b: a * b, range(1, 6))
""", "functools")
_s("iter_sentinel_and_next_default", """
    it = iter([1, 2, 3])
    print(next(it), next(it), next(it), next(it, "done"))
    data = [5, 4, 0, 7]
    pos = iter(data)
    list(iter(lambda: next(pos), 0))
""")

# ---------------------------------------------------------------- control flow & syntax
_s("match_statement_commands", """
    def handle(cmd):
        match cmd.split():
            case ["go", direction]:
                return f"going {direction}"
            case ["pick", "up", item]:
                return f"picked {item}"
            case ["quit" | "exit"]:
                return "bye"
            case _:
                return "unknown"
    [handle(c) for c in ["go north", "pick up lamp", "exit", "dance"]]
""")
_s("match_class_and_mapping", """
    class Point:
        __match_args__ = ("x", "y")
        def __init__(self, x, y):
            self.x, self.y = x, y
    def where(p):
        match p:
            case Point(0, 0):
                return "origin"
            case Point(x, 0):
                return f"x-axis at {x}"
            case {"type": "circle", "r": r} if r > 0:
                return f"circle r={r}"
            case [first, *rest]:
                return f"list starting {first}, {len(rest)} more"
            case _:
                return "elsewhere"
    [where(v) for v in [Point(0, 0), Point(3, 0), {"type": "circle", "r": 2}, [1, 2, 3], 5]]
""")
_s("walrus_in_while_and_comprehension", """
    data = [4, 8, 15, 16, 23, 42]
    it = iter(data)
    seen = []
    while (n := next(it, None)) is not None:
        if n > 20:
            break
        seen.append(n)
    big = [y for x in data if (y := x * 2) > 30]
    print(seen, big)
""")
_s("for_else_search", """
    def first_divisor(n):
        for d in range(2, int(n ** 0.5) + 1):
            if n % d == 0:
                break
        else:
            return None
        return d
    [first_divisor(n) for n in [15, 17, 49, 97]]
""")
_s("while_else_and_continue", """
    i = 0
    odds = []
    while i < 10:
        i += 1
        if i % 2 == 0:
            continue
        odds.append(i)
    else:
        print("loop finished normally")
    odds
""")
_s("star_unpacking", """
    first, *middle, last = [1, 2, 3, 4, 5]
    head, *tail = "hello"
    a, (b, c) = 1, (2, 3)
    print(first, middle, last, head, tail, a, b, c)
    [*range(3), *"ab"]
""")
_s("try_except_else_finally", """
    def parse(s):
        log = []
        try:
            v = int(s)
        except ValueError as e:
            log.append(f"bad: {e}")
            v = None
        else:
            log.append("ok")
        finally:
            log.append("done")
        return v, log
    print(parse("12"))
    print(parse("x"))
""")
_s("exception_chaining_and_type_name", """
    def load(key):
        try:
            return {"a": 1}[key]
        except KeyError as e:
            raise LookupError(f"no such key {key}") from e
    try:
        load("z")
    except LookupError as e:
        print(type(e).__name__, "|", e, "|", type(e.__cause__).__name__)
""")
_s("multiple_except_clauses", """
    results = []
    for value in ["10", "abc", None, "0"]:
        try:
            results.append(100 // int(value))
        except (TypeError, ValueError) as e:
            results.append(type(e).__name__)
        except ZeroDivisionError:
            results.append("div0")
    results
""")
_s("raise_and_reraise", """
    def risky(n):
        if n > 2:
            raise RuntimeError(f"too big: {n}")
        return n
    errors = []
    for n in range(5):
        try:
            risky(n)
        except RuntimeError as err:
            errors.append(str(err))
    errors
""")
_s("assert_statement", """
    def safe_div(a, b):
        assert b != 0, "b must not be zero"
        return a / b
    try:
        safe_div(1, 0)
    except AssertionError as e:
        print("caught:", e)
    safe_div(9, 3)
""")
_s("exception_args_and_str", """
    try:
        raise ValueError("bad value", 42)
    except ValueError as e:
        print(e.args, repr(e))
    try:
        {}["missing"]
    except KeyError as e:
        print(f"KeyError: {e}")
""")
_s("ternary_and_chained_comparisons", """
    def grade(score):
        return "A" if score >= 90 else "B" if score >= 80 else "C" if 70 <= score < 80 else "F"
    print([grade(s) for s in [95, 85, 75, 10]])
    1 < 2 < 3 > 2
""")
_s("name_main_idiom", """
    def main():
        print("running main")
        return 0
    if __name__ == "__main__":
        status = main()
    status
""")
_s("del_statement_and_in", """
    d = {"a": 1, "b": 2, "c": 3}
    del d["b"]
    lst = [1, 2, 3, 4]
    del lst[::2]
    print(d, lst, "a" in d, 3 in lst)
""")
_s("with_statement_multiple", """
    class Res:
        def __init__(self, name, log):
            self.name, self.log = name, log
        def __enter__(self):
            self.log.append("open " + self.name)
            return self.name
        def __exit__(self, *exc):
            self.log.append("close " + self.name)
    log = []
    with Res("a", log) as a, Res("b", log) as b:
        log.append(a + b)
    log
""")
_s("exception_groups_star", """
    try:
        raise ExceptionGroup("batch", [ValueError("v1"), TypeError("t1"), ValueError("v2")])
    except* ValueError as eg:
        print("values:", [str(e) for e in eg.exceptions])
    except* TypeError as eg:
        print("types:", len(eg.exceptions))
""")
_s("final_answer_after_compute", """
    data = [2, 4, 6]
    avg = sum(data) / len(data)
    final_answer(f"The average is {avg}")
""")
_s("final_answer_dict", """
    summary = {"count": 3, "items": sorted(["c", "a", "b"])}
    final_answer(summary)
""")
_s("final_answer_in_try", """
    try:
        value = int("42")
        final_answer(value * 2)
    except ValueError:
        final_answer("could not parse")
""")
_s("lambda_default_capture", """
    funcs = [lambda x, i=i: x + i for i in range(3)]
    [f(10) for f in funcs]
""")
_s("conditional_import_fallback", """
    try:
        import json
        dumps = json.dumps
    except ImportError:
        dumps = repr
    print(dumps({"a": 1}))
""", "json")
_s("nonlocal_accumulator", """
    def make_averager():
        total = 0
        count = 0
        def add(x):
            nonlocal total, count
            total += x
            count += 1
            return total / count
        return add
    avg = make_averager()
    [avg(v) for v in [10, 20, 30]]
""")

# ---------------------------------------------------------------- strings & formatting
_s("string_methods_mix", """
    s = "  Hello, World! Hello!  "
    print(s.strip(), s.lower().count("hello"), s.replace("Hello", "Bye").strip())
    print(s.strip().split(", "), "-".join(["a", "b"]), s.strip().startswith("Hello"))
    "title case words".title().center(24, "*")
""")
_s("fstring_features", """
    name, pi, n = "Ada", 3.14159265, 1234567
    print(f"{name!r} {name!s:>6} {pi:.3f} {n:,} {n:_} {0.25:.0%} {255:#x} {7:08b}")
    print(f"{name=} {pi=:.2f} {n * 2 = }")
    width = 10
    f"[{name:^{width}}]"
""")
_s("str_format_method", """
    tpl = "{name} is {age} years old; {0} {1}"
    print(tpl.format("x", "y", name="Bob", age=30))
    print("{:>8.2f}|{:<5}|{:^7}".format(3.14159, "ab", "mid"))
    row = {"k": "v", "n": 2}
    "{k}={n}".format(**row)
""")
_s("str_format_index_and_attr", """
    point = (3, 4)
    data = {"user": "kim"}
    print("x={0[0]}, y={0[1]}".format(point))
    print("user: {d[user]}".format(d=data))
    "{0.real} + {0.imag}j".format(1 + 2j)
""")
_s("percent_formatting", """
    name, qty, price = "pens", 3, 1.5
    print("%s: %d @ %.2f = %8.3f" % (name, qty, price, qty * price))
    print("%(a)s and %(b)r" % {"a": "x", "b": "y"})
    "%5s|%-5s|%05d" % ("r", "l", 42)
""")
_s("print_sep_end", """
    print("a", "b", "c", sep="-")
    print("no newline", end="")
    print(" continued", end="!\\n")
    print(*range(5), sep=", ")
    print()
    print("done")
""")
_s("regex_findall_groups", """
    import re
    text = "Contact: alice@example.com, bob.smith@mail.org; phone 555-1234"
    emails = re.findall(r"[\\w.]+@[\\w.]+\\.\\w+", text)
    phone = re.search(r"(\\d{3})-(\\d{4})", text)
    print(emails, phone.group(0), phone.groups())
""")
_s("regex_sub_and_compile", """
    import re
    pattern = re.compile(r"(?P<year>\\d{4})-(?P<month>\\d{2})-(?P<day>\\d{2})")
    s = "Dates: 2024-01-15 and 2023-12-31."
    print(pattern.sub(r"\\g<day>/\\g<month>/\\g<year>", s))
    m = pattern.search(s)
    m.groupdict()
""")
_s("regex_split_and_finditer", """
    import re
    parts = re.split(r"[;,\\s]+", "a, b;c  d")
    spans = [(m.group(), m.start()) for m in re.finditer(r"\\d+", "x12y345z6")]
    print(parts, spans)
    bool(re.fullmatch(r"[A-Z][a-z]+", "Hello"))
""")
_s("regex_sub_with_function", """
    import re
    def double(m):
        return str(int(m.group()) * 2)
    re.sub(r"\\d+", double, "3 apples and 10 pears")
""")
_s("string_padding_and_justify", """
    items = [("apple", 1.5), ("kiwi", 0.25), ("watermelon", 3.0)]
    width = max(len(n) for n, _ in items)
    for name, price in items:
        print(name.ljust(width, "."), str(price).rjust(6))
""")
_s("palindromes_and_anagrams", """
    def is_pal(s):
        cleaned = "".join(ch.lower() for ch in s if ch.isalnum())
        return cleaned == cleaned[::-1]
    def anagrams(a, b):
        return sorted(a.replace(" ", "").lower()) == sorted(b.replace(" ", "").lower())
    print(is_pal("A man, a plan, a canal: Panama"), is_pal("hello"))
    anagrams("Listen", "Silent")
""")
_s("caesar_cipher", """
    def caesar(text, shift):
        out = []
        for ch in text:
            if ch.isalpha():
                base = ord("A") if ch.isupper() else ord("a")
                out.append(chr((ord(ch) - base + shift) % 26 + base))
            else:
                out.append(ch)
        return "".join(out)
    enc = caesar("Hello, World!", 3)
    print(enc)
    caesar(enc, -3)
""")
_s("unicode_normalization", """
    import unicodedata
    s = "Café naïve résumé"
    stripped = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    print(stripped, unicodedata.name("é"), unicodedata.category("A"))
""")
_s("string_partition_and_checks", """
    line = "key = value = more"
    k, sep, v = line.partition(" = ")
    print(repr(k), repr(v), "abc123".isalnum(), "123".isdigit(), " ".isspace())
    "CamelCaseString".swapcase()
""")
_s("text_wrap_manual", """
    def wrap(text, width):
        lines, line = [], ""
        for word in text.split():
            if len(line) + len(word) + (1 if line else 0) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            lines.append(line)
        return lines
    for l in wrap("The quick brown fox jumps over the lazy dog again and again", 16):
        print(l)
""")
_s("textwrap_module", """
    import textwrap
    text = "Python is a programming language that lets you work quickly and integrate systems."
    print(textwrap.fill(text, width=30))
    textwrap.shorten(text, width=40, placeholder="...")
""", "textwrap")
_s("string_template", """
    from string import Template, ascii_lowercase
    t = Template("Hello $name, you owe $$${amount}")
    print(t.substitute(name="Ann", amount=12))
    ascii_lowercase[:5]
""", "string")
_s("repr_vs_str", """
    values = ["text", 3, 2.5, None, [1, "a"], {"k": (1,)}]
    for v in values:
        print(str(v), "|", repr(v))
""")
_s("format_builtin_and_spec", """
    print(format(1234.5678, ",.2f"), format(0.125, ".1%"), format(42, "x"), format("s", ">4"))
    "{:e}".format(123456.789)
""")

# ---------------------------------------------------------------- stdlib: collections, itertools, math...
_s("counter_most_common", """
    from collections import Counter
    text = "the cat and the hat and the bat"
    c = Counter(text.split())
    print(c.most_common(2), c["and"], c["dog"])
    (c + Counter(["cat"]))["cat"]
""")
_s("defaultdict_grouping", """
    from collections import defaultdict
    pairs = [("fruit", "apple"), ("veg", "leek"), ("fruit", "fig")]
    groups = defaultdict(list)
    for kind, name in pairs:
        groups[kind].append(name)
    counts = defaultdict(int)
    for kind, _ in pairs:
        counts[kind] += 1
    print(dict(groups), dict(counts))
""")
_s("deque_rotate_window", """
    from collections import deque
    d = deque([1, 2, 3, 4, 5], maxlen=5)
    d.rotate(2)
    d.append(6)
    window = deque(maxlen=3)
    sums = []
    for x in range(6):
        window.append(x)
        sums.append(sum(window))
    print(list(d), sums)
""")
_s("namedtuple_records", """
    from collections import namedtuple
    Point = namedtuple("Point", ["x", "y"])
    p = Point(3, 4)
    q = p._replace(x=10)
    print(p, q, p.x + q.y, p._asdict())
    Point._fields
""")
_s("ordereddict_move", """
    from collections import OrderedDict
    od = OrderedDict.fromkeys("abcde")
    od.move_to_end("b")
    od.popitem(last=False)
    list(od)
""")
_s("chainmap_config", """
    from collections import ChainMap
    defaults = {"theme": "light", "lang": "en"}
    user = {"theme": "dark"}
    cfg = ChainMap(user, defaults)
    print(cfg["theme"], cfg["lang"], len(cfg))
""")
_s("itertools_combinatorics", """
    from itertools import combinations, permutations, product
    print(list(combinations("abc", 2)))
    print(len(list(permutations(range(4), 2))), list(product([0, 1], repeat=2)))
""")
_s("itertools_groupby_accumulate", """
    from itertools import groupby, accumulate, chain, islice, count
    data = sorted(["apple", "avocado", "banana", "blueberry", "cherry"], key=lambda w: w[0])
    grouped = {k: list(g) for k, g in groupby(data, key=lambda w: w[0])}
    print(grouped)
    print(list(accumulate([1, 2, 3, 4])), list(chain("ab", [1])), list(islice(count(10, 5), 3)))
""")
_s("itertools_zip_longest_pairwise", """
    import itertools
    print(list(itertools.zip_longest("abc", [1, 2], fillvalue=0)))
    print(list(itertools.pairwise([1, 4, 9, 16])))
    print(list(itertools.starmap(pow, [(2, 3), (3, 2)])))
    list(itertools.takewhile(lambda x: x < 4, itertools.cycle([1, 2, 3, 5])))
""")
_s("math_functions", """
    import math
    print(math.sqrt(16), math.floor(2.7), math.ceil(2.1), math.gcd(12, 18), math.lcm(4, 6))
    print(round(math.pi, 4), math.factorial(10), math.comb(5, 2), math.isclose(0.1 + 0.2, 0.3))
    math.hypot(3, 4)
""")
_s("math_geometry", """
    import math
    def distance(p, q):
        return math.dist(p, q)
    def polygon_area(pts):
        return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]))) / 2
    print(distance((0, 0), (3, 4)), polygon_area([(0, 0), (4, 0), (4, 3)]))
    round(math.degrees(math.atan2(1, 1)), 1)
""")
_s("statistics_summary", """
    import statistics
    data = [2, 4, 4, 4, 5, 5, 7, 9]
    print(statistics.mean(data), statistics.median(data), statistics.mode(data))
    print(round(statistics.pstdev(data), 3), round(statistics.stdev(data), 3))
    statistics.quantiles(data, n=4)
""")
_s("random_with_seed", """
    import random
    random.seed(42)
    print(random.randint(1, 100), random.choice("abcdef"), round(random.random(), 6))
    items = list(range(10))
    random.shuffle(items)
    print(items, random.sample(range(100), 3))
""")
_s("random_instance_simulation", """
    import random
    rng = random.Random(7)
    rolls = [rng.randint(1, 6) for _ in range(1000)]
    freq = {face: rolls.count(face) for face in range(1, 7)}
    print(freq)
    round(sum(rolls) / len(rolls), 3)
""")
_s("monte_carlo_pi", """
    import random
    random.seed(0)
    n = 20000
    inside = sum(1 for _ in range(n) if random.random() ** 2 + random.random() ** 2 <= 1)
    print(f"pi ~ {4 * inside / n:.4f}")
""")
_s("datetime_arithmetic", """
    from datetime import date, datetime, timedelta
    start = date(2024, 1, 31)
    print(start + timedelta(days=30), (date(2024, 12, 25) - start).days)
    dt = datetime(2024, 3, 10, 14, 30)
    print(dt.strftime("%Y-%m-%d %H:%M"), dt.isoformat(), dt.weekday())
    datetime.strptime("2024-02-29", "%Y-%m-%d").date().isoformat()
""")
_s("datetime_business_days", """
    import datetime
    def business_days(start, end):
        d, n = start, 0
        while d <= end:
            if d.weekday() < 5:
                n += 1
            d += datetime.timedelta(days=1)
        return n
    business_days(datetime.date(2024, 1, 1), datetime.date(2024, 1, 31))
""")
_s("datetime_age_and_timezones", """
    from datetime import datetime, timezone, timedelta
    utc = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
    tokyo = utc.astimezone(timezone(timedelta(hours=9)))
    print(tokyo.isoformat(), tokyo.hour)
    born = datetime(1990, 8, 15)
    ref = datetime(2024, 6, 1)
    age = ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))
    age
""")
_s("time_module_basic", """
    import time
    t0 = time.perf_counter()
    total = sum(range(10000))
    elapsed = time.perf_counter() - t0
    print(total, elapsed >= 0, time.strftime("%Y", time.gmtime(0)))
""")
_s("queue_fifo_lifo", """
    import queue
    q = queue.Queue()
    for i in range(3):
        q.put(i)
    lifo = queue.LifoQueue()
    for i in range(3):
        lifo.put(i)
    pq = queue.PriorityQueue()
    for p in [(3, "c"), (1, "a"), (2, "b")]:
        pq.put(p)
    print([q.get() for _ in range(3)], [lifo.get() for _ in range(3)], [pq.get()[1] for _ in range(3)])
""")
_s("stat_file_modes", """
    import stat
    mode = 0o100644
    print(stat.S_ISREG(mode), stat.S_ISDIR(mode), stat.filemode(mode), oct(stat.S_IMODE(mode)))
""")
_s("heapq_top_k", """
    import heapq
    nums = [5, 1, 8, 3, 9, 2]
    print(heapq.nlargest(3, nums), heapq.nsmallest(2, nums))
    h = []
    for n in nums:
        heapq.heappush(h, n)
    [heapq.heappop(h) for _ in range(len(h))]
""", "heapq")
_s("dijkstra_heapq", """
    import heapq
    graph = {"A": {"B": 1, "C": 4}, "B": {"C": 2, "D": 5}, "C": {"D": 1}, "D": {}}
    def dijkstra(src):
        dist = {src: 0}
        pq = [(0, src)]
        while pq:
            d, u = heapq.heappop(pq)
            if d > dist.get(u, float("inf")):
                continue
            for v, w in graph[u].items():
                if d + w < dist.get(v, float("inf")):
                    dist[v] = d + w
                    heapq.heappush(pq, (d + w, v))
        return dist
    dijkstra("A")
""", "heapq")
_s("bisect_grades", """
    import bisect
    def grade(score, breakpoints=[60, 70, 80, 90], grades="FDCBA"):
        return grades[bisect.bisect(breakpoints, score)]
    print([grade(s) for s in [33, 99, 77, 70, 89, 90, 100]])
    arr = [1, 3, 5]
    bisect.insort(arr, 4)
    arr
""", "bisect")
_s("json_roundtrip", """
    import json
    data = {"name": "Widget", "tags": ["a", "b"], "price": 9.99, "stock": None}
    s = json.dumps(data, indent=2, sort_keys=True)
    print(s)
    json.loads(s) == data
""", "json")
_s("json_custom_default", """
    import json
    from datetime import date
    def encode(o):
        if isinstance(o, date):
            return o.isoformat()
        raise TypeError(type(o).__name__)
    json.dumps({"when": date(2024, 5, 1), "n": 1}, default=encode)
""", "json")
_s("dataclass_basic", """
    from dataclasses import dataclass, field
    @dataclass
    class Item:
        name: str
        price: float
        tags: list = field(default_factory=list)
        def total(self, qty: int) -> float:
            return self.price * qty
    it = Item("pen", 1.5)
    it.tags.append("office")
    print(it, it.total(4), it == Item("pen", 1.5, ["office"]))
""", "dataclasses")
_s("dataclass_frozen_order", """
    from dataclasses import dataclass, asdict, replace
    @dataclass(frozen=True, order=True)
    class Version:
        major: int
        minor: int = 0
    vs = sorted([Version(1, 2), Version(0, 9), Version(1, 0)])
    print(vs, asdict(vs[0]), replace(vs[0], minor=5))
    try:
        vs[0].major = 3
    except Exception as e:
        print(type(e).__name__)
""", "dataclasses")
_s("dataclass_post_init", """
    from dataclasses import dataclass, field
    @dataclass
    class Rect:
        w: float
        h: float
        area: float = field(init=False)
        def __post_init__(self):
            self.area = self.w * self.h
    Rect(3, 4)
""", "dataclasses")
_s("enum_usage", """
    from enum import Enum, auto
    class Color(Enum):
        RED = auto()
        GREEN = auto()
        BLUE = auto()
    print(Color.RED, Color.GREEN.value, Color["BLUE"].name, [c.name for c in Color])
    Color(2) is Color.GREEN
""", "enum")
_s("intenum_and_flag", """
    from enum import IntEnum, Flag, auto
    class Priority(IntEnum):
        LOW = 1
        HIGH = 3
    class Perm(Flag):
        R = auto()
        W = auto()
        X = auto()
    rw = Perm.R | Perm.W
    print(Priority.HIGH > Priority.LOW, Perm.W in rw, Perm.X in rw, sorted([Priority.HIGH, Priority.LOW]))
""", "enum")
_s("typing_namedtuple_typeddict", """
    from typing import NamedTuple, TypedDict, List
    class Employee(NamedTuple):
        name: str
        dept: str = "eng"
    class Movie(TypedDict):
        title: str
        year: int
    staff: List[Employee] = [Employee("a"), Employee("b", "ops")]
    m: Movie = {"title": "Up", "year": 2009}
    print(staff, m["year"])
""", "typing")
_s("operator_module", """
    import operator
    rows = [{"n": "b", "v": 2}, {"n": "a", "v": 3}]
    print(sorted(rows, key=operator.itemgetter("n")))
    from functools import reduce
    reduce(operator.mul, [1, 2, 3, 4])
""", "operator", "functools")
_s("copy_deepcopy", """
    import copy
    original = {"a": [1, 2], "b": {"c": 3}}
    shallow = copy.copy(original)
    deep = copy.deepcopy(original)
    original["a"].append(99)
    print(shallow["a"], deep["a"])
""", "copy")
_s("decimal_money", """
    from decimal import Decimal, ROUND_HALF_UP
    price = Decimal("19.99")
    total = (price * 3).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    print(total, Decimal("0.1") + Decimal("0.2") == Decimal("0.3"))
    str(total * Decimal("1.08"))
""", "decimal")
_s("fractions_exact", """
    from fractions import Fraction
    f = Fraction(1, 3) + Fraction(1, 6)
    print(f, float(f), Fraction("0.75"), Fraction(3, 4).limit_denominator(10))
""", "fractions")
_s("functools_total_ordering_cached_property", """
    from functools import total_ordering, cached_property
    @total_ordering
    class Card:
        order = "23456789TJQKA"
        def __init__(self, rank):
            self.rank = rank
        def __eq__(self, other):
            return self.rank == other.rank
        def __lt__(self, other):
            return self.order.index(self.rank) < self.order.index(other.rank)
        @cached_property
        def value(self):
            return self.order.index(self.rank) + 2
    cards = [Card("K"), Card("3"), Card("A")]
    print([c.rank for c in sorted(cards)], Card("Q") >= Card("J"), cards[0].value)
""", "functools")
_s("string_module_constants", """
    import string
    pwd = "Abc123!x"
    checks = {
        "upper": any(c in string.ascii_uppercase for c in pwd),
        "digit": any(c in string.digits for c in pwd),
        "punct": any(c in string.punctuation for c in pwd),
    }
    checks
""", "string")

# ---------------------------------------------------------------- files in the work dir
_s("write_and_read_text_file", """
    with open("notes.txt", "w") as f:
        f.write("line one\\nline two\\n")
    with open("notes.txt") as f:
        lines = f.readlines()
    print(len(lines), lines[1].strip())
""")
_s("append_and_count_lines", """
    for i in range(3):
        with open("log.txt", "a", encoding="utf-8") as fh:
            fh.write(f"entry {i}\\n")
    with open("log.txt", encoding="utf-8") as fh:
        count = sum(1 for _ in fh)
    count
""")
_s("csv_write_read_manual", """
    rows = [("id", "name"), (1, "ann"), (2, "bob")]
    with open("people.csv", "w") as f:
        for r in rows:
            f.write(",".join(map(str, r)) + "\\n")
    with open("people.csv") as f:
        header, *data = [line.rstrip("\\n").split(",") for line in f]
    [dict(zip(header, d)) for d in data]
""")
_s("json_file_roundtrip", """
    import json
    state = {"step": 3, "results": [1, 2, 3]}
    with open("state.json", "w") as f:
        json.dump(state, f)
    with open("state.json") as f:
        loaded = json.load(f)
    print(loaded == state, loaded["step"])
""", "json")
_s("binary_file", """
    data = bytes(range(10))
    with open("blob.bin", "wb") as f:
        f.write(data)
    with open("blob.bin", "rb") as f:
        back = f.read()
    print(back == data, len(back), back[3:6])
""")
_s("print_to_file", """
    with open("report.txt", "w") as out:
        print("Report", file=out)
        print("total:", 42, file=out, sep=" ")
    open("report.txt").read()
""")

# ---------------------------------------------------------------- small algorithms & tasks
_s("fizzbuzz", """
    out = []
    for i in range(1, 16):
        out.append("FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i))
    print(" ".join(out))
""")
_s("sieve_primes", """
    def sieve(n):
        is_p = [True] * (n + 1)
        is_p[0] = is_p[1] = False
        for i in range(2, int(n ** 0.5) + 1):
            if is_p[i]:
                for j in range(i * i, n + 1, i):
                    is_p[j] = False
        return [i for i, p in enumerate(is_p) if p]
    primes = sieve(100)
    print(len(primes), primes[-5:])
""")
_s("bfs_grid_shortest_path", """
    from collections import deque
    grid = ["S.#.", "..#.", "...E"]
    rows, cols = len(grid), len(grid[0])
    start = next((r, c) for r in range(rows) for c in range(cols) if grid[r][c] == "S")
    q = deque([(start, 0)])
    seen = {start}
    while q:
        (r, c), d = q.popleft()
        if grid[r][c] == "E":
            break
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] != "#" and (nr, nc) not in seen:
                seen.add((nr, nc))
                q.append(((nr, nc), d + 1))
    d
""")
_s("topological_sort", """
    deps = {"app": ["lib", "utils"], "lib": ["utils"], "utils": [], "tests": ["app"]}
    order, visited = [], set()
    def visit(n):
        if n in visited:
            return
        visited.add(n)
        for d in deps[n]:
            visit(d)
        order.append(n)
    for node in sorted(deps):
        visit(node)
    order
""")
_s("gcd_lcm_manual", """
    def gcd(a, b):
        while b:
            a, b = b, a % b
        return a
    def lcm(a, b):
        return a * b // gcd(a, b)
    print(gcd(48, 180), lcm(4, 6))
""")
_s("quicksort_recursive", """
    def quicksort(xs):
        if len(xs) <= 1:
            return xs
        pivot, *rest = xs
        return quicksort([x for x in rest if x < pivot]) + [pivot] + quicksort([x for x in rest if x >= pivot])
    quicksort([3, 6, 1, 8, 2, 9, 2])
""")
_s("memoized_dp_coin_change", """
    def coin_change(coins, amount):
        dp = [0] + [float("inf")] * amount
        for a in range(1, amount + 1):
            for c in coins:
                if c <= a:
                    dp[a] = min(dp[a], dp[a - c] + 1)
        return dp[amount] if dp[amount] != float("inf") else -1
    [coin_change([1, 5, 10, 25], 63), coin_change([2], 3)]
""")
_s("roman_numerals", """
    def to_roman(n):
        vals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
        out = ""
        for v, s in vals:
            while n >= v:
                out += s
                n -= v
        return out
    [to_roman(n) for n in [4, 9, 14, 1994, 2024]]
""")
_s("matrix_determinant_recursive", """
    def det(m):
        if len(m) == 1:
            return m[0][0]
        return sum((-1) ** j * m[0][j] * det([row[:j] + row[j + 1:] for row in m[1:]]) for j in range(len(m)))
    det([[2, 0, 1], [1, 3, 2], [1, 1, 1]])
""")
_s("compound_interest_table", """
    principal, rate = 1000.0, 0.05
    for year in range(1, 6):
        principal *= 1 + rate
        print(f"Year {year}: ${principal:,.2f}")
""")
_s("temperature_conversion_table", """
    def c_to_f(c):
        return c * 9 / 5 + 32
    table = {c: round(c_to_f(c), 1) for c in range(-10, 41, 10)}
    for c, f in table.items():
        print(f"{c:>4}C = {f:>6}F")
""")
_s("parse_log_lines", """
    import re
    logs = '''2024-01-01 10:00:01 INFO started
    2024-01-01 10:00:05 ERROR disk full
    2024-01-01 10:01:00 WARN slow response
    2024-01-01 10:02:00 ERROR timeout'''
    levels = {}
    errors = []
    for line in logs.splitlines():
        date, time_, level, *msg = line.split()
        levels[level] = levels.get(level, 0) + 1
        if level == "ERROR":
            errors.append(" ".join(msg))
    print(levels)
    errors
""")
_s("validate_emails", """
    import re
    EMAIL = re.compile(r"^[\\w.+-]+@[\\w-]+\\.[\\w.-]+$")
    candidates = ["a@b.com", "bad@", "x.y+z@mail.co.uk", "no spaces@x.com"]
    {c: bool(EMAIL.match(c)) for c in candidates}
""")
_s("url_parsing_manual", """
    url = "https://example.com:8080/path/to/page?query=python&lang=en#section"
    scheme, rest = url.split("://", 1)
    host_port, _, path_q = rest.partition("/")
    path, _, query_frag = path_q.partition("?")
    query, _, frag = query_frag.partition("#")
    params = dict(p.split("=") for p in query.split("&"))
    print(scheme, host_port, "/" + path, params, frag)
""")
_s("word_stats_counter", """
    from collections import Counter
    import re
    text = '''It was the best of times, it was the worst of times, it was the age of wisdom,
    it was the age of foolishness.'''
    words = re.findall(r"[a-z']+", text.lower())
    c = Counter(words)
    print(len(words), len(c))
    c.most_common(3)
""")
_s("simple_state_machine", """
    transitions = {("idle", "start"): "running", ("running", "pause"): "paused",
                   ("paused", "start"): "running", ("running", "stop"): "idle"}
    state = "idle"
    history = [state]
    for event in ["start", "pause", "start", "stop", "pause"]:
        state = transitions.get((state, event), state)
        history.append(state)
    " -> ".join(history)
""")
_s("tree_dict_recursion", """
    tree = {"value": 1, "children": [{"value": 2, "children": []},
                                     {"value": 3, "children": [{"value": 4, "children": []}]}]}
    def total(node):
        return node["value"] + sum(total(c) for c in node["children"])
    def depth(node):
        return 1 + max((depth(c) for c in node["children"]), default=0)
    total(tree), depth(tree)
""")
_s("bank_simulation_classes", """
    class InsufficientFunds(Exception):
        pass
    class Account:
        def __init__(self, owner, balance=0.0):
            self.owner = owner
            self.balance = balance
            self.history = []
        def withdraw(self, amount):
            if amount > self.balance:
                raise InsufficientFunds(f"{self.owner} has only {self.balance:.2f}")
            self.balance -= amount
            self.history.append(("withdraw", amount))
        def transfer(self, other, amount):
            self.withdraw(amount)
            other.balance += amount
            other.history.append(("deposit", amount))
    a, b = Account("ann", 100), Account("bob")
    a.transfer(b, 30)
    try:
        b.transfer(a, 50)
    except InsufficientFunds as e:
        print("failed:", e)
    print(a.balance, b.balance, a.history, b.history)
""")
_s("tool_result_processing", """
    search_results = [
        {"title": "Python 3.12 released", "url": "https://python.org/3.12", "score": 0.91},
        {"title": "What's new in Python", "url": "https://docs.python.org/whatsnew", "score": 0.85},
        {"title": "Snake facts", "url": "https://zoo.example/snakes", "score": 0.12},
    ]
    relevant = [r for r in search_results if r["score"] > 0.5]
    summary = "\\n".join(f"- {r['title']} ({r['url']})" for r in relevant)
    print(summary)
    final_answer({"n": len(relevant), "top": relevant[0]["title"]})
""")
_s("retry_loop_pattern", """
    attempts = []
    def flaky(n=[0]):
        n[0] += 1
        if n[0] < 3:
            raise ConnectionError(f"attempt {n[0]} failed")
        return "ok"
    for attempt in range(5):
        try:
            result = flaky()
            break
        except ConnectionError as e:
            attempts.append(str(e))
    print(attempts, result)
""")
_s("string_building_report", """
    products = [("Laptop", 1200, 3), ("Mouse", 25, 10), ("Monitor", 300, 2)]
    lines = ["Product    Price  Qty   Total", "-" * 29]
    grand = 0
    for name, price, qty in products:
        total = price * qty
        grand += total
        lines.append(f"{name:<10}{price:>6}{qty:>5}{total:>8}")
    lines.append(f"{'Grand total':<21}{grand:>8}")
    print("\\n".join(lines))
""")
_s("sorting_stability_and_reverse", """
    data = [("b", 2), ("a", 2), ("c", 1), ("d", 3)]
    by_num = sorted(data, key=lambda t: t[1])
    desc = sorted(data, key=lambda t: t[1], reverse=True)
    data.sort()
    print(by_num, desc, data)
""")
_s("dict_views_and_iteration", """
    stock = {"apples": 3, "pears": 0, "plums": 7}
    for fruit, n in list(stock.items()):
        if n == 0:
            del stock[fruit]
    print(list(stock.keys()), sum(stock.values()), stock.keys() & {"plums", "kiwi"})
""")
_s("isinstance_dispatch", """
    def describe(x):
        if isinstance(x, bool):
            return "bool"
        if isinstance(x, (int, float)):
            return "number"
        if isinstance(x, str):
            return "string"
        if isinstance(x, dict):
            return "mapping"
        return type(x).__name__
    [describe(v) for v in [True, 3, 2.5, "s", {}, [], None]]
""")
_s("hasattr_getattr_dynamic", """
    class Plugin:
        def run_fast(self):
            return "fast"
        def run_safe(self):
            return "safe"
    p = Plugin()
    modes = ["fast", "safe", "turbo"]
    out = {}
    for m in modes:
        name = f"run_{m}"
        out[m] = getattr(p, name)() if hasattr(p, name) else "n/a"
    setattr(p, "mode", "safe")
    print(out, p.mode, getattr(p, "missing", None))
""")
_s("dir_and_callable_introspection", """
    class Tool:
        def a(self):
            pass
        def b(self):
            pass
        value = 3
    public = [n for n in dir(Tool) if not n.startswith("_")]
    methods = [n for n in public if callable(getattr(Tool, n))]
    print(public, methods)
""")
_s("min_heap_class_with_lt", """
    import heapq
    class Task:
        def __init__(self, prio, name):
            self.prio, self.name = prio, name
        def __lt__(self, other):
            return self.prio < other.prio
    tasks = [Task(3, "low"), Task(1, "urgent"), Task(2, "normal")]
    heapq.heapify(tasks)
    [heapq.heappop(tasks).name for _ in range(3)]
""", "heapq")
_s("enumerate_with_index_updates", """
    scores = [55, 78, 91, 40]
    for i, s in enumerate(scores):
        if s < 60:
            scores[i] = 60
    scores
""")
_s("all_combinations_sum", """
    from itertools import combinations
    nums = [3, 34, 4, 12, 5, 2]
    target = 9
    hits = [c for r in range(1, len(nums) + 1) for c in combinations(nums, r) if sum(c) == target]
    hits
""")
_s("timedelta_formatting", """
    from datetime import timedelta
    def fmt(td):
        total = int(td.total_seconds())
        h, rem = divmod(total, 3600)
        m, s = divmod(rem, 60)
        return f"{h:02d}:{m:02d}:{s:02d}"
    [fmt(timedelta(seconds=s)) for s in (59, 3661, 86399)]
""")
_s("calendar_month_dates", """
    import datetime
    first = datetime.date(2024, 2, 1)
    days = []
    d = first
    while d.month == 2:
        days.append(d.day)
        d += datetime.timedelta(days=1)
    print(len(days), first.strftime("%A, %B %d"))
""")
_s("sum_of_digits_and_properties", """
    def digit_sum(n):
        return sum(int(d) for d in str(abs(n)))
    armstrong = [n for n in range(100, 1000) if sum(int(d) ** 3 for d in str(n)) == n]
    print(digit_sum(-9875), armstrong)
""")
_s("matrix_class_with_dunders", """
    class Matrix:
        def __init__(self, rows):
            self.rows = [list(r) for r in rows]
        @property
        def shape(self):
            return len(self.rows), len(self.rows[0])
        def __matmul__(self, other):
            return Matrix([[sum(a * b for a, b in zip(r, c)) for c in zip(*other.rows)] for r in self.rows])
        def __eq__(self, other):
            return self.rows == other.rows
        def __repr__(self):
            return "Matrix(" + repr(self.rows) + ")"
    I = Matrix([[1, 0], [0, 1]])
    M = Matrix([[2, 3], [4, 5]])
    print((M @ I) == M, M.shape)
    M @ M
""")
_s("generator_with_state_class", """
    class Fib:
        def __init__(self, limit):
            self.limit = limit
        def __iter__(self):
            a, b = 0, 1
            while a < self.limit:
                yield a
                a, b = b, a + b
    list(Fib(100))
""")
_s("exception_in_generator_cleanup", """
    log = []
    def gen():
        try:
            yield 1
            yield 2
        finally:
            log.append("cleanup")
    g = gen()
    next(g)
    g.close()
    log
""")
_s("sorted_dict_by_nested_value", """
    students = {"ann": {"math": 90, "art": 70}, "ben": {"math": 75, "art": 95}, "cy": {"math": 85, "art": 80}}
    ranking = sorted(students, key=lambda s: sum(students[s].values()) / len(students[s]), reverse=True)
    best_math = max(students.items(), key=lambda kv: kv[1]["math"])[0]
    print(ranking, best_math)
""")
_s("zip_strict_and_unzip", """
    pairs = [(1, "a"), (2, "b"), (3, "c")]
    nums, letters = zip(*pairs)
    print(nums, letters)
    try:
        list(zip([1, 2], [1], strict=True))
    except ValueError as e:
        print("strict:", e)
""")
_s("frozenset_and_tuple_keys", """
    edges = {frozenset({"a", "b"}): 3, frozenset({"b", "c"}): 5}
    grid = {(0, 0): "start", (2, 3): "goal"}
    print(edges[frozenset({"b", "a"})], grid.get((2, 3)), (1, 1) in grid)
""")
_s("complex_numbers", """
    z = 3 + 4j
    print(abs(z), z.real, z.imag, z.conjugate(), z * 1j)
""")
_s("float_edge_cases", """
    import math
    vals = [float("inf"), -float("inf"), float("nan"), 1e308 * 10, 0.1 + 0.2]
    print([math.isinf(v) for v in vals], math.isnan(vals[2]), f"{vals[4]:.17f}")
""")
_s("type_conversions_safe", """
    def to_int(s, default=0):
        try:
            return int(s)
        except (TypeError, ValueError):
            return default
    raw = ["1", "two", None, "3.0", " 4 "]
    [to_int(x) for x in raw]
""")
_s("dict_get_vs_setdefault_vs_pop", """
    d = {"a": 1}
    print(d.get("b"), d.setdefault("b", 2), d.pop("a"), d.pop("zz", "none"), d)
    d.update(c=3, d=4)
    d.popitem()
""")
_s("list_methods_all", """
    xs = [3, 1, 2]
    xs.append(5); xs.extend([0, 4]); xs.insert(1, 9)
    xs.remove(9)
    print(xs.index(5), xs.count(3), xs.pop(), xs)
    xs.sort(reverse=True)
    xs.reverse()
    xs.copy()
""")
_s("ascii_art_box", """
    def boxed(lines):
        w = max(map(len, lines))
        top = "+" + "-" * (w + 2) + "+"
        return "\\n".join([top] + [f"| {l.ljust(w)} |" for l in lines] + [top])
    print(boxed(["Hello", "sandboxed world"]))
""")
_s("shadowing_builtin_names", """
    list_ = [1, 2, 3]
    input_data = "x"
    max_val = max(list_)
    id_ = 7
    type_ = "t"
    print(max_val, input_data, id_, type_)
    sum(list_)
""")
_s("variables_named_like_helpers", """
    input = "user text"
    help = "see docs"
    print(input.upper(), help)
""")
_s("class_level_constants_and_enum_like", """
    class Status:
        ACTIVE = "active"
        INACTIVE = "inactive"
        ALL = (ACTIVE, INACTIVE)
    def check(s):
        if s not in Status.ALL:
            raise ValueError(f"bad status: {s}")
        return s == Status.ACTIVE
    print(check("active"))
    try:
        check("gone")
    except ValueError as e:
        print(e)
""")
_s("ordered_unique_with_sorted_set", """
    emails = ["B@x.com", "a@x.com", "b@x.com", "c@x.com", "A@x.com"]
    normalized = sorted({e.lower() for e in emails})
    normalized
""")
_s("dict_comprehension_conditional", """
    prices = {"apple": 1.2, "bread": 2.5, "caviar": 99.0, "dates": 4.0}
    cheap = {k: v for k, v in prices.items() if v < 5}
    labels = {k: ("cheap" if v < 5 else "pricey") for k, v in prices.items()}
    print(cheap)
    labels
""")
_s("nested_data_flatten_to_rows", """
    orders = {"o1": {"customer": "ann", "items": [("pen", 2), ("ink", 1)]},
              "o2": {"customer": "bob", "items": [("pad", 5)]}}
    rows = [(oid, o["customer"], item, qty) for oid, o in orders.items() for item, qty in o["items"]]
    for r in rows:
        print(*r, sep="\\t")
""")
_s("print_multiple_types", """
    print(1, 2.0, "three", [4], (5,), {6: 7}, None, True, sep=" | ")
    print(f"{'nested ' + 'quotes'!s}")
""")
_s("late_binding_closures_list", """
    def make_multipliers():
        return [lambda x, n=n: x * n for n in range(1, 4)]
    [m(10) for m in make_multipliers()]
""")
_s("collections_counter_arithmetic", """
    from collections import Counter
    inventory = Counter(apples=5, pears=2)
    sold = Counter(apples=3, pears=2, kiwis=1)
    remaining = inventory - sold
    print(remaining, +remaining, sorted(inventory.elements()))
    sum(inventory.values())
""")
_s("object_equality_identity", """
    a = [1, 2]
    b = a
    c = list(a)
    print(a == c, a is c, a is b, None is None)
    x = object()
    x == x
""")
_s("docstrings_and_help_text", """
    def area(r):
        '''Compute the area of a circle of radius r.'''
        return 3.14159 * r * r
    class Shape:
        '''A geometric shape.'''
    print(area.__doc__)
    print(Shape.__doc__, area.__name__, area.__qualname__)
""")
_s("exception_finally_return_order", """
    events = []
    def f():
        try:
            events.append("try")
            return "from try"
        finally:
            events.append("finally")
    r = f()
    print(r, events)
""")
_s("generator_expression_any_short_circuit", """
    checked = []
    def is_big(x):
        checked.append(x)
        return x > 10
    found = any(is_big(x) for x in [1, 5, 20, 30])
    print(found, checked)
""")
_s("map_with_multiple_iterables", """
    a = [1, 2, 3]
    b = [10, 20, 30]
    print(list(map(lambda x, y: x * y, a, b)), list(map(max, a, [2, 2, 2])))
""")
_s("slice_objects_and_negative_steps", """
    s = "abcdefghij"
    every_third = slice(None, None, 3)
    print(s[every_third], s[-1:-4:-1], s[8:2:-2])
""")
_s("integer_math_big", """
    big = 2 ** 200
    print(len(str(big)), big % 97, pow(3, 200, 1000))
""")
_s("dataclass_with_methods_and_sorting", """
    from dataclasses import dataclass
    @dataclass
    class Task:
        title: str
        priority: int
        done: bool = False
        def mark_done(self):
            self.done = True
    tasks = [Task("write", 2), Task("test", 1), Task("ship", 3)]
    tasks[1].mark_done()
    for t in sorted(tasks, key=lambda t: t.priority):
        print(f"[{'x' if t.done else ' '}] {t.title} (p{t.priority})")
""", "dataclasses")
_s("typing_callable_generic_hints", """
    from typing import Callable, Iterable, TypeVar, Any
    T = TypeVar("T")
    def apply_all(fns: Iterable[Callable[[T], Any]], value: T) -> list:
        return [f(value) for f in fns]
    apply_all([str, float, lambda v: v * 2], 4)
""", "typing")
_s("functools_reduce_and_cmp_to_key", """
    from functools import reduce, cmp_to_key
    def cmp(a, b):
        return (a > b) - (a < b)
    print(sorted([3, 1, 2], key=cmp_to_key(cmp)))
    reduce(lambda acc, kv: acc + kv[1], {"a": 1, "b": 2}.items(), 0)
""", "functools")
