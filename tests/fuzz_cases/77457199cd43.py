match victim:
    case object(__builtins__=g):
        leaked = g