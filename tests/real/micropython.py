def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

class Shape:
    def __init__(self, w, h):
        self.w, self.h = w, h
    def area(self):
        return self.w * self.h

def checked(x):
    try:
        return 100 // x
    except ZeroDivisionError as e:
        return "caught: " + str(e)
    finally:
        pass

print("fib", [fib(i) for i in range(15)])
print("area", sum(Shape(i, i + 1).area() for i in range(10)))
print("div", checked(7), checked(0))
print("big", 3 ** 80, hex(2 ** 70 - 1))
print("str", ",".join(sorted({"pear", "apple", "fig"})), "abc".upper() * 2)
d = {}
for w in "the quick brown fox jumps over the lazy dog the end".split():
    d[w] = d.get(w, 0) + 1
print("words", sorted(d.items()))
try:
    [][1]
except IndexError:
    print("index error caught")
print("float", 1.5 * 4, 10 / 4, round(2.675, 2))
