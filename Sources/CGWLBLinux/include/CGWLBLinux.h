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
static const unsigned int gwlb_TUN_F_CSUM = TUN_F_CSUM;
static const unsigned int gwlb_TUN_F_TSO4 = TUN_F_TSO4;
static const unsigned int gwlb_TUN_F_TSO6 = TUN_F_TSO6;
static const unsigned int gwlb_TUN_F_TSO_ECN = TUN_F_TSO_ECN;
// UDP segmentation offload on TUN (Linux 6.2); spelled out for older headers.
static const unsigned int gwlb_TUN_F_USO4 = 0x20;
static const unsigned int gwlb_TUN_F_USO6 = 0x40;
// UDP GSO and GRO on sockets (linux/udp.h: UDP_SEGMENT, UDP_GRO; SOL_UDP).
static const int gwlb_SOL_UDP = 17;
static const int gwlb_UDP_SEGMENT = 103;
static const int gwlb_UDP_GRO = 104;

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

/// TUNSETOFFLOAD and TUNSETVNETHDRSZ take plain integers, which Swift cannot pass to the variadic ioctl.
int gwlb_tun_set_offload(int fd, unsigned int flags);
int gwlb_tun_set_vnet_header_size(int fd, int size);
/// TUNSETPERSIST: a persistent device outlives the last descriptor closed on it.
int gwlb_tun_set_persist(int fd, int persist);

/// Space a message needs for one control message of `length` data bytes (CMSG_SPACE).
unsigned int gwlb_cmsg_space(unsigned int length);

/// Puts one SOL_UDP/UDP_SEGMENT control message (segment size) into `message`, whose msg_control
/// points at gwlb_cmsg_space(2) bytes or more.
void gwlb_set_udp_segment(struct msghdr *message, unsigned short segment_size);

/// The segment size of a datagram the kernel coalesced (SOL_UDP/UDP_GRO), or 0 if there is none.
int gwlb_udp_gro_segment_size(struct msghdr *message);

/// Attaches a classic BPF program choosing the socket of a SO_REUSEPORT group
/// (SO_ATTACH_REUSEPORT_CBPF): `code` is `count` struct sock_filter.
int gwlb_attach_reuseport_cbpf(int fd, const void *code, unsigned short count);

/// A non-blocking, close-on-exec eventfd (for waking a worker blocked in poll); -1 with errno.
int gwlb_eventfd(void);

/// Sends `length` bytes as one message on a Unix socket (gwlbd's takeover uses SOCK_SEQPACKET)
/// with `count` descriptors attached (SCM_RIGHTS; at most 250). Returns the bytes sent, or -1 with errno.
long gwlb_send_descriptors(int fd, const void *data, unsigned long length, const int *descriptors, int count);

/// Receives up to `capacity` bytes and up to `descriptor_capacity` descriptors (made close-on-exec);
/// `*received` is set to how many came. Returns the bytes read (0 at the end), or -1 with errno.
long gwlb_receive_descriptors(int fd, void *data, unsigned long capacity, int *descriptors, int descriptor_capacity, int *received);

/// accept4(2) with SOCK_CLOEXEC (glibc declares accept4 only for _GNU_SOURCE); -1 with errno.
int gwlb_accept(int fd);

/// Cache prefetch hints for batched table lookups: start the memory loads of a whole batch
/// before using any of them, so their latencies overlap. Swift has no prefetch of its own.
static inline void gwlb_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void gwlb_prefetch_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
