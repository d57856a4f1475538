// sock_accept, sock_recv, sock_send, sock_shutdown on a socket preopened by
// `wrun --tcplisten` (fd 3): echo one line back in upper case.
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
    __wasi_fd_t conn;
    __wasi_errno_t e = __wasi_sock_accept(3, 0, &conn);
    printf("accept: %d\n", e);
    if (e) return 1;
    char buf[256];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t got = 0, sent = 0;
    __wasi_roflags_t ro;
    e = __wasi_sock_recv(conn, &iov, 1, 0, &got, &ro);
    printf("recv: %d %u bytes\n", e, (unsigned)got);
    for (__wasi_size_t i = 0; i < got; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
    __wasi_ciovec_t out = {(const uint8_t *)buf, got};
    e = __wasi_sock_send(conn, &out, 1, 0, &sent);
    printf("send: %d %u bytes\n", e, (unsigned)sent);
    printf("shutdown: %d\n", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR));
    printf("accept on a file: %d\n", __wasi_sock_accept(1, 0, &conn));
    printf("shutdown bad how: %d\n", __wasi_sock_shutdown(conn, 7));
    return 0;
}
