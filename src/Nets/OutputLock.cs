using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>
/// One writer per output folder: a training run or a report holds FOLDER/.gpuae.lock open exclusively while it writes
/// there (on Linux .NET takes an advisory flock for <see cref="FileShare.None"/>; the kernel drops it when the process
/// ends, however it ends, so no stale lock survives a kill). A second process given the same folder is refused with one
/// line instead of interleaving its files with the first's. The file itself stays (deleting it would let a third
/// process lock a new file while the second still holds the old one).
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FileName = ".gpuae.lock";
    readonly FileStream file;

    OutputLock(FileStream file) => this.file = file;

    /// <summary>Takes the folder's lock (the folder must exist), or refuses: another gpuae process is writing there.</summary>
    public static OutputLock Claim(string folder)
    {
        string path = Path.Combine(folder, FileName);
        try
        {
            return new OutputLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new UserError($"another gpuae process is writing to {folder} (it holds {path}): wait for it to finish or choose another --out");
        }
    }

    public void Dispose() => file.Dispose();
}
