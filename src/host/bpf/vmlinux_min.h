/* The few kernel types collector.bpf.c reads, written by hand instead of a generated vmlinux.h.
 * Every struct carries preserve_access_index: clang emits a CO-RE relocation for each field it
 * touches, and the loader (aya) moves it to the running kernel's offset, read from
 * /sys/kernel/btf/vmlinux. Only the names matter; the order and the missing fields do not. */
#ifndef EGRESS_IDS_VMLINUX_MIN_H
#define EGRESS_IDS_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef __u16 __be16;
typedef __u32 __be32;

#define CORE __attribute__((preserve_access_index))

struct ns_common { unsigned int inum; } CORE;
struct net { struct ns_common ns; } CORE;
struct nsproxy { struct net *net_ns; } CORE;
struct upid { int nr; } CORE;
struct pid { unsigned int level; struct upid numbers[1]; } CORE;
struct mm_struct { unsigned long arg_start; unsigned long arg_end; } CORE;
struct task_struct {
    int pid;
    int tgid;
    struct task_struct *real_parent;
    struct task_struct *group_leader;
    char comm[16];
    struct nsproxy *nsproxy;
    struct pid *thread_pid;
    struct mm_struct *mm;
} CORE;
struct linux_binprm { const char *filename; } CORE;
struct in6_addr { __u8 u6_addr8[16]; }; /* read whole, never by field */
typedef struct { struct net *net; } CORE possible_net_t;
struct sock_common {
    __be32 skc_daddr;
    __be32 skc_rcv_saddr;
    __be16 skc_dport;
    __u16 skc_num;
    unsigned short skc_family;
    possible_net_t skc_net;
    struct in6_addr skc_v6_daddr;
    struct in6_addr skc_v6_rcv_saddr;
} CORE;
struct sock { struct sock_common __sk_common; __u16 sk_protocol; } CORE;

#endif
