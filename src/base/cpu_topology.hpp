// The processor's cores as the operating system shows them to this process: which logical CPUs
// it may run on and which of those share a physical core (SMT siblings). Used for the default
// thread count (one per physical core: two hyper-threads of one core share its FMA units, so a
// second thread there slows the products down) and for pinning pool threads to cores.
#pragma once

#include <span>
#include <vector>

namespace scout {

// One logical CPU as /sys/devices/system/cpu/cpuN/topology describes it.
struct LogicalCpu {
    int cpu = 0;      // the N of cpuN
    int package = 0;  // physical_package_id (the socket)
    int core = 0;     // core_id (unique within its package)
};

// For each physical core among `cpus`, its lowest-numbered logical CPU, ordered by that number.
// Pure, so it can be tested on made-up layouts (SMT pairs, two sockets, holes in the mask).
std::vector<int> first_cpu_of_each_core(std::span<const LogicalCpu> cpus);

struct CpuTopology {
    std::vector<int> core_cpus;  // one logical CPU per physical core this process may use
    int logical_cpus = 0;        // logical CPUs this process may use
};

// Linux: the affinity mask (sched_getaffinity) joined with sysfs topology. Where either is
// missing, every logical CPU counts as a core (std::thread::hardware_concurrency).
CpuTopology read_cpu_topology();

// The default worker count: physical cores this process may use (at least 1).
int physical_core_count();

// Binds the calling thread to one logical CPU; false (and no change) where that is refused or
// unsupported.
bool pin_current_thread(int cpu);

}  // namespace scout
