import math as m
from math import __builtins__ as p
m.x = p