#define _GNU_SOURCE 1
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "CGWLBLinux.h"

_Static_assert(sizeof(struct gwlb_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct gwlb_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int gwlb_recvmmsg(int fd, struct gwlb_mmsghdr *messages, unsigned int count, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, flags, NULL);
}

int gwlb_sendmmsg(int fd, struct gwlb_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}

int gwlb_ioctl_ifreq(int fd, unsigned long request, struct ifreq *request_data) {
    return ioctl(fd, request, request_data);
}

int gwlb_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}
