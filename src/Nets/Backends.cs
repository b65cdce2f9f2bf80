using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>Opens a compute backend by its command-line name; the models and the trainer only see <see cref="IBackend"/>.</summary>
public static class Backends
{
    public static readonly string[] Names = ["auto", "cpu", "cuda", "opencl"];

    public static IBackend Open(string device) => IlgpuBackend.Open(device);

    public static IReadOnlyList<DeviceInfo> List() => IlgpuBackend.ListDevices();
}
