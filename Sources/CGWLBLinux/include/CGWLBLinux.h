// What Swift cannot import on its own: Linux ioctl request numbers (built by _IOW macros),
// batched socket calls (struct mmsghdr and recvmmsg/sendmmsg are declared only under _GNU_SOURCE,
// which this header must not define: it would change glibc's types under Swift's Glibc module),
// and compiler builtins such as cache prefetch. Constants and thin wrappers only, no state.
#ifndef CGWLBLINUX_H
#define CGWLBLINUX_H

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_tun.h>

static const unsigned long gwlb_TUNSETIFF = TUNSETIFF;
static const unsigned long gwlb_TUNSETOFFLOAD = TUNSETOFFLOAD;
static const unsigned long gwlb_TUNSETVNETHDRSZ = TUNSETVNETHDRSZ;
static const short gwlb_IFF_TUN = IFF_TUN;
static const short gwlb_IFF_NO_PI = IFF_NO_PI;
static const short gwlb_IFF_MULTI_QUEUE = IFF_MULTI_QUEUE;
static const short gwlb_IFF_VNET_HDR = IFF_VNET_HDR;

/// Same layout as glibc's struct mmsghdr (checked by a static assertion in shim.c).
struct gwlb_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// Batched receive: fills up to `count` messages; returns how many, or -1 with errno.
int gwlb_recvmmsg(int fd, struct gwlb_mmsghdr *messages, unsigned int count, int flags);

/// Batched send: returns how many messages were sent, or -1 with errno.
int gwlb_sendmmsg(int fd, struct gwlb_mmsghdr *messages, unsigned int count, int flags);

/// ioctl with a struct ifreq argument (TUNSETIFF): Swift cannot call the variadic ioctl.
int gwlb_ioctl_ifreq(int fd, unsigned long request, struct ifreq *request_data);

/// A non-blocking, close-on-exec eventfd (for waking a worker blocked in poll); -1 with errno.
int gwlb_eventfd(void);

/// Cache prefetch hints for batched table lookups: start the memory loads of a whole batch
/// before using any of them, so their latencies overlap. Swift has no prefetch of its own.
static inline void gwlb_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void gwlb_prefetch_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
