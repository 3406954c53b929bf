// Linux networking calls and constants that Swift cannot import on its own: the ioctl request
// numbers are built by _IOW macros, and struct mmsghdr / recvmmsg / sendmmsg are only declared
// under _GNU_SOURCE. Everything here is a constant or a static inline wrapper, no state.
#ifndef CGWLBLINUX_H
#define CGWLBLINUX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>

static const unsigned long gwlb_TUNSETIFF = TUNSETIFF;
static const unsigned long gwlb_TUNSETOFFLOAD = TUNSETOFFLOAD;
static const unsigned long gwlb_TUNSETVNETHDRSZ = TUNSETVNETHDRSZ;
static const short gwlb_IFF_TUN = IFF_TUN;
static const short gwlb_IFF_NO_PI = IFF_NO_PI;
static const short gwlb_IFF_MULTI_QUEUE = IFF_MULTI_QUEUE;
static const short gwlb_IFF_VNET_HDR = IFF_VNET_HDR;

/// Batched receive: fills up to `count` messages; returns how many, or -1 with errno.
static inline int gwlb_recvmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, messages, count, flags, 0);
}

/// Batched send: returns how many messages were sent, or -1 with errno.
static inline int gwlb_sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, messages, count, flags);
}

/// TUNSETIFF takes a struct ifreq; Swift cannot pass the variadic ioctl argument itself.
static inline int gwlb_ioctl_ifreq(int fd, unsigned long request, struct ifreq *request_data) {
    return ioctl(fd, request, request_data);
}

#endif
