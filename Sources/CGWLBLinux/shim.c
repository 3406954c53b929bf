#define _GNU_SOURCE 1
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <linux/filter.h>
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

int gwlb_tun_set_offload(int fd, unsigned int flags) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags);
}

int gwlb_tun_set_persist(int fd, int persist) {
    return ioctl(fd, TUNSETPERSIST, (unsigned long)persist);
}

int gwlb_tun_set_vnet_header_size(int fd, int size) {
    return ioctl(fd, TUNSETVNETHDRSZ, &size);
}

unsigned int gwlb_cmsg_space(unsigned int length) {
    return CMSG_SPACE(length);
}

void gwlb_set_udp_segment(struct msghdr *message, unsigned short segment_size) {
    message->msg_controllen = CMSG_SPACE(sizeof(unsigned short));
    struct cmsghdr *header = CMSG_FIRSTHDR(message);
    header->cmsg_level = 17;   /* SOL_UDP */
    header->cmsg_type = 103;   /* UDP_SEGMENT */
    header->cmsg_len = CMSG_LEN(sizeof(unsigned short));
    memcpy(CMSG_DATA(header), &segment_size, sizeof segment_size);
}

int gwlb_udp_gro_segment_size(struct msghdr *message) {
    for (struct cmsghdr *header = CMSG_FIRSTHDR(message); header != NULL; header = CMSG_NXTHDR(message, header)) {
        if (header->cmsg_level == 17 && header->cmsg_type == 104) {   /* SOL_UDP, UDP_GRO */
            int size = 0;
            memcpy(&size, CMSG_DATA(header), sizeof size);
            return size;
        }
    }
    return 0;
}

int gwlb_attach_reuseport_cbpf(int fd, const void *code, unsigned short count) {
    struct sock_fprog program = { .len = count, .filter = (struct sock_filter *)code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program);
}

long gwlb_send_descriptors(int fd, const void *data, unsigned long length, const int *descriptors, int count) {
    if (count < 0 || count > 250) { errno = EINVAL; return -1; }
    char control[CMSG_SPACE(250 * sizeof(int))];
    struct iovec vector = { .iov_base = (void *)data, .iov_len = length };
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (count > 0) {
        memset(control, 0, sizeof(control));
        message.msg_control = control;
        message.msg_controllen = CMSG_SPACE(count * sizeof(int));
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(count * sizeof(int));
        memcpy(CMSG_DATA(header), descriptors, count * sizeof(int));
    }
    return sendmsg(fd, &message, MSG_NOSIGNAL);
}

long gwlb_receive_descriptors(int fd, void *data, unsigned long capacity, int *descriptors, int descriptor_capacity, int *received) {
    char control[CMSG_SPACE(250 * sizeof(int))];
    struct iovec vector = { .iov_base = data, .iov_len = capacity };
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
    *received = 0;
    long count = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (count < 0) return count;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *incoming = (int *)CMSG_DATA(header);
        for (int i = 0; i < n; i++) {
            if (*received < descriptor_capacity) descriptors[(*received)++] = incoming[i];
            else close(incoming[i]);  /* more than asked for: not leaked */
        }
    }
    if (message.msg_flags & MSG_CTRUNC) { errno = EMSGSIZE; return -1; }
    return count;
}

int gwlb_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC);
}
