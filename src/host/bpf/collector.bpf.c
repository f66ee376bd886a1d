// SPDX-License-Identifier: GPL-2.0
/* egress-ids' process collector: tracepoints only (tp_btf), no kprobes, so that it loads on
 * kernels in lockdown. Events go to user space through one ring buffer; src/host/event.rs
 * decodes them (the layout of `struct event` is mirrored there, field by field).
 *
 *   sched_process_exec   exe path and argv of the new image, with the task's identity
 *   sched_process_fork   a new process (not a thread): child and parent tgid
 *   sched_process_exit   the thread-group leader leaves
 *   inet_sock_set_state  TCP: the task is taken at CLOSE -> SYN_SENT (process context, no port
 *                        yet); the event goes out at SYN_SENT -> anything, when the source port is
 *                        set; CLOSE from any other state ends the socket's window (reported
 *                        only for sockets reported at connect)
 *   tcp_retransmit_skb   TCP: a SYN sent again before any answer: the connect goes out then
 *   sock_send_length     UDP (kernel 6.3+): the first send of each socket with its tuple
 */
#include "vmlinux_min.h"

#define __always_inline inline __attribute__((always_inline))
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_RINGBUF 27
#define BPF_ANY 0

/* The helpers by number (include/uapi/linux/bpf.h), so that no libbpf header is needed. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static __u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static __u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *src) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *src) = (void *)115;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;

#define KIND_EXEC 1
#define KIND_FORK 2
#define KIND_EXIT 3
#define KIND_CONNECT 4
#define KIND_CLOSE 5
#define KIND_UDP_SEND 6

#define PATH_LEN 256
#define ARGS_LEN 512

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

struct event {
    __u8 kind;
    __u8 proto;
    __u8 family;
    __u8 pad;
    __u32 tgid;
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 ns_pid;
    __u32 netns;
    __u16 sport;
    __u16 dport;
    __u64 cgroup;
    __u64 ktime;
    char comm[16];
    __u8 saddr[16];
    __u8 daddr[16];
    __u32 path_len;
    __u32 args_len;
    char path[PATH_LEN];
    char args[ARGS_LEN];
};

/* The task that opened a TCP socket, kept from CLOSE -> SYN_SENT until the port is known. */
struct opener {
    __u32 tgid;
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 ns_pid;
    __u32 netns;
    __u64 cgroup;
    __u64 ktime;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 22);
} EVENTS SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct opener);
} OPENERS SEC(".maps");

/* Records lost because the ring buffer was full (slot 0), read by user space for its counters. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} LOST SEC(".maps");

/* TCP sockets reported at connect and not closed yet: only their close is reported (not that of
 * the sockets a local server accepts). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, __u8);
} CONNECTED SEC(".maps");

/* UDP sockets already reported, with the tuple they were reported with (ports and addresses,
 * hashed): a socket that connects elsewhere is reported again. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, __u64);
} UDP_SEEN SEC(".maps");

static __always_inline __u32 ns_pid_of(struct task_struct *task)
{
    struct pid *pid = task->group_leader->thread_pid;
    unsigned int level = pid->level;
    struct upid upid = {};
    if (level > 32)
        return 0;
    bpf_probe_read_kernel(&upid, sizeof(upid), &pid->numbers[level]);
    return upid.nr;
}

static __always_inline __u32 task_netns(struct task_struct *task)
{
    struct nsproxy *ns = task->nsproxy;
    if (!ns)
        return 0;
    return ns->net_ns->ns.inum;
}

/* Who is running now: identity fields of `e` from the current task. */
static __always_inline void fill_task(struct event *e, struct task_struct *task)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    e->tgid = pid_tgid >> 32;
    e->tid = (__u32)pid_tgid;
    e->ppid = task->real_parent->tgid;
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->cgroup = bpf_get_current_cgroup_id();
    e->netns = task_netns(task);
    e->ns_pid = ns_pid_of(task);
    e->ktime = bpf_ktime_get_ns();
    bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->group_leader->comm);
}

static __always_inline struct event *reserve(__u8 kind)
{
    struct event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(struct event), 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&LOST, &zero);
        if (lost)
            __sync_fetch_and_add(lost, 1);
        return 0;
    }
    /* Every field before the exec-only strings starts at zero (a close has no task). */
    __builtin_memset(e, 0, __builtin_offsetof(struct event, path));
    e->kind = kind;
    return e;
}

SEC("tp_btf/sched_process_exec")
int handle_exec(__u64 *ctx)
{
    struct task_struct *task = (struct task_struct *)ctx[0];
    struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
    struct event *e = reserve(KIND_EXEC);
    if (!e)
        return 0;
    fill_task(e, task);
    long n = bpf_probe_read_kernel_str(e->path, PATH_LEN, bprm->filename);
    e->path_len = n > 0 ? n : 0;
    struct mm_struct *mm = task->mm;
    unsigned long start = mm->arg_start, end = mm->arg_end;
    __u64 len = end > start ? end - start : 0;
    if (len >= ARGS_LEN)
        len = ARGS_LEN - 1; /* the last NUL of a longer argv is lost, not an argument */
    /* Bounds the size for the verifier, whatever clang made of the test above. */
    asm volatile("%0 &= 511" : "+r"(len));
    if (len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0)
        e->args_len = len;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int handle_fork(__u64 *ctx)
{
    struct task_struct *parent = (struct task_struct *)ctx[0];
    struct task_struct *child = (struct task_struct *)ctx[1];
    if (child->pid != child->tgid)
        return 0; /* a thread */
    struct event *e = reserve(KIND_FORK);
    if (!e)
        return 0;
    fill_task(e, bpf_get_current_task_btf());
    e->tgid = child->tgid;
    e->tid = child->pid;
    e->ppid = parent->tgid;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int handle_exit(__u64 *ctx)
{
    struct task_struct *task = (struct task_struct *)ctx[0];
    if (task->pid != task->tgid)
        return 0;
    struct event *e = reserve(KIND_EXIT);
    if (!e)
        return 0;
    fill_task(e, task);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* The socket's addresses and ports into `e` (ports in host order). */
static __always_inline int fill_tuple(struct event *e, struct sock *sk)
{
    unsigned short family = sk->__sk_common.skc_family;
    e->family = family;
    e->sport = sk->__sk_common.skc_num;
    __be16 dport = sk->__sk_common.skc_dport;
    e->dport = (__u16)((dport >> 8) | (dport << 8));
    if (family == AF_INET) {
        __be32 s = sk->__sk_common.skc_rcv_saddr, d = sk->__sk_common.skc_daddr;
        __builtin_memcpy(e->saddr, &s, 4);
        __builtin_memcpy(e->daddr, &d, 4);
    } else if (family == AF_INET6) {
        bpf_probe_read_kernel(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        bpf_probe_read_kernel(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
    } else {
        return -1;
    }
    return 0;
}

/* A TCP connect event: the opener's task as taken at CLOSE -> SYN_SENT, the socket's tuple now. */
static __always_inline void fill_connect(struct event *e, const struct opener *o, struct sock *sk)
{
    e->proto = IPPROTO_TCP;
    e->tgid = o->tgid;
    e->tid = o->tid;
    e->ppid = o->ppid;
    e->uid = o->uid;
    e->ns_pid = o->ns_pid;
    e->netns = o->netns;
    e->cgroup = o->cgroup;
    e->ktime = o->ktime;
    __builtin_memcpy(e->comm, o->comm, 16);
    fill_tuple(e, sk);
}

/* The connect event of socket `sk` (key `key`) if its opener was recorded; filled, not yet
 * submitted. */
static __always_inline struct event *connect_event(struct sock *sk, __u64 key)
{
    struct opener *o = bpf_map_lookup_elem(&OPENERS, &key);
    if (!o)
        return 0;
    struct event *e = reserve(KIND_CONNECT);
    if (!e)
        return 0;
    fill_connect(e, o, sk);
    return e;
}

SEC("tp_btf/inet_sock_set_state")
int handle_sock_state(__u64 *ctx)
{
    struct sock *sk = (struct sock *)ctx[0];
    int old = (int)ctx[1], new = (int)ctx[2];
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    __u64 key = (__u64)sk;
    if (old == TCP_CLOSE && new == TCP_SYN_SENT) {
        struct task_struct *task = bpf_get_current_task_btf();
        __u64 pid_tgid = bpf_get_current_pid_tgid();
        struct opener o = {};
        o.tgid = pid_tgid >> 32;
        o.tid = (__u32)pid_tgid;
        o.ppid = task->real_parent->tgid;
        o.uid = (__u32)bpf_get_current_uid_gid();
        o.cgroup = bpf_get_current_cgroup_id();
        o.netns = task_netns(task);
        o.ns_pid = ns_pid_of(task);
        o.ktime = bpf_ktime_get_ns();
        bpf_probe_read_kernel_str(o.comm, sizeof(o.comm), task->group_leader->comm);
        bpf_map_update_elem(&OPENERS, &key, &o, BPF_ANY);
        return 0;
    }
    if (old == TCP_SYN_SENT) {
        struct event *e = connect_event(sk, key);
        if (!e)
            return 0;
        bpf_map_delete_elem(&OPENERS, &key);
        if (new == TCP_CLOSE) {
            e->pad = 1; /* refused or timed out: the window ends now too */
        } else {
            __u8 one = 1;
            bpf_map_update_elem(&CONNECTED, &key, &one, BPF_ANY);
        }
        bpf_ringbuf_submit(e, 0);
        return 0;
    }
    if (new == TCP_CLOSE) {
        if (!bpf_map_lookup_elem(&CONNECTED, &key))
            return 0;
        bpf_map_delete_elem(&CONNECTED, &key);
        struct event *e = reserve(KIND_CLOSE);
        if (!e)
            return 0;
        e->proto = IPPROTO_TCP;
        e->netns = sk->__sk_common.skc_net.net->ns.inum;
        e->ktime = bpf_ktime_get_ns();
        fill_tuple(e, sk);
        bpf_ringbuf_submit(e, 0);
    }
    return 0;
}

/* A SYN sent again (no answer in a second: a blackholed peer): the port is set by now, so the
 * connect goes out at once instead of when the kernel gives up, minutes later. The opener stays
 * for the SYN_SENT -> anything transition, which user space folds into this one. */
SEC("tp_btf/tcp_retransmit_skb")
int handle_retransmit(__u64 *ctx)
{
    struct sock *sk = (struct sock *)ctx[0];
    struct event *e = connect_event(sk, (__u64)sk);
    if (!e)
        return 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/sock_send_length")
int handle_send(__u64 *ctx)
{
    struct sock *sk = (struct sock *)ctx[0];
    int ret = (int)ctx[1];
    if (ret < 0 || sk->sk_protocol != IPPROTO_UDP)
        return 0;
    __u64 key = (__u64)sk;
    __u64 sig = ((__u64)sk->__sk_common.skc_num << 48) ^ ((__u64)sk->__sk_common.skc_dport << 32) ^
                sk->__sk_common.skc_daddr ^ sk->__sk_common.skc_rcv_saddr;
    __u64 *seen = bpf_map_lookup_elem(&UDP_SEEN, &key);
    if (seen && *seen == sig)
        return 0;
    bpf_map_update_elem(&UDP_SEEN, &key, &sig, BPF_ANY);
    struct event *e = reserve(KIND_UDP_SEND);
    if (!e)
        return 0;
    fill_task(e, bpf_get_current_task_btf());
    e->proto = IPPROTO_UDP;
    if (fill_tuple(e, sk) < 0) {
        e->family = 0;
    }
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
