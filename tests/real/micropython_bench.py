# A heavier script for run-time comparisons (scripts/real-programs compare micropython).
def primes(n):
    sieve = bytearray(b"\x01" * (n + 1))
    sieve[0] = sieve[1] = 0
    i = 2
    while i * i <= n:
        if sieve[i]:
            for j in range(i * i, n + 1, i):
                sieve[j] = 0
        i += 1
    return sum(1 for k in range(n + 1) if sieve[k])

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

total = 0
for k in range(200):
    try:
        if k % 7 == 0:
            raise ValueError(k)
        total += k
    except ValueError as e:
        total -= 1
print(primes(300000), fib(24), total)
