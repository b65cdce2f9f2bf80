using GpuAe.Kernels;
using GpuAe.Simd;

namespace GpuAe.Nets;

/// <summary>Opens a compute backend by its command-line name; the models and the trainer only see <see cref="IBackend"/>.</summary>
public static class Backends
{
    public static readonly string[] Names = ["auto", "cpu", "cuda", "opencl", "simd"];

    /// <summary>auto = CUDA, then a usable OpenCL device, then the SIMD host backend; cpu = ILGPU's CPU accelerator.</summary>
    public static IBackend Open(string device)
    {
        switch (device)
        {
            case "simd":
                return new SimdBackend();
            case "auto":
                var gpu = IlgpuBackend.ListDevices().FirstOrDefault(d => d.Usable && d.Kind is "cuda" or "opencl");
                return gpu is null ? new SimdBackend() : IlgpuBackend.Open(gpu.Kind);
            case "cpu" or "cuda" or "opencl":
                return IlgpuBackend.Open(device);
            default:
                throw new UserError($"unknown device '{device}': use {string.Join(", ", Names)}");
        }
    }

    public static IReadOnlyList<DeviceInfo> List()
    {
        var path = VectorPaths.Best;
        var simd = new DeviceInfo("simd", "SIMD host backend", true,
            $"{path}, {VectorPaths.Width(path)} floats per vector, {Environment.ProcessorCount} threads; plain C# with System.Runtime.Intrinsics");
        return [.. IlgpuBackend.ListDevices(), simd];
    }
}
