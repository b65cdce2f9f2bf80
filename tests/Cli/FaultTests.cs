using System.Diagnostics;
using System.Text;
using GpuAe.Cli;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using Xunit;

namespace GpuAe.Tests.Cli;

/// <summary>Faults of the machine while files are written: a full disk (a small tmpfs in a user and mount namespace,
/// `unshare -rm`, no root needed) and a second process writing to the same folder. Each ends in one line and exit 2, with
/// nothing half-written left and what was written before intact.</summary>
public class FaultTests : TempFolderTest
{
    static readonly string Cli = typeof(GpuAeCli).Assembly.Location;

    /// <summary>Runs <paramref name="command"/> (gpuae's arguments, its --out inside the tmpfs at $DISK) in a namespace
    /// with a tmpfs of <paramref name="size"/> at $DISK; afterwards copies the tmpfs's files (hidden ones too) to
    /// FOLDER/after, since the tmpfs goes with the namespace. Returns the exit code and what gpuae printed.</summary>
    (int Exit, string Stdout, string Stderr) OnASmallDisk(string size, string command)
    {
        string disk = Path.Combine(Folder, "disk"), after = Path.Combine(Folder, "after");
        Directory.CreateDirectory(disk);
        string script = $"mount -t tmpfs -o size={size} none '{disk}' && DISK='{disk}'; dotnet {Cli} {command} > '{Folder}/stdout' 2> '{Folder}/stderr'; " +
                        $"code=$?; cp -a '{disk}/.' '{after}'; exit $code";
        var start = new ProcessStartInfo("unshare", ["-rm", "sh", "-c", $"mkdir -p '{after}' && {script}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        string shell = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(File.Exists(Path.Combine(Folder, "stderr")), $"the namespace did not start: {shell}");
        return (process.ExitCode, File.ReadAllText(Path.Combine(Folder, "stdout")), File.ReadAllText(Path.Combine(Folder, "stderr")));
    }

    static void AssertOneLineDiskError(int exit, string stdout, string stderr)
    {
        Assert.True(exit == 2, $"exit {exit}: {stderr}{stdout[^Math.Min(800, stdout.Length)..]}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"not one line: {stderr}");
        Assert.StartsWith("gpuae: could not read or write a file (No space left on device", lines[0]);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    /// <summary>A disk with room for one AE checkpoint (4.8 MB) but not for the next beside it: epoch 2's checkpoint
    /// cannot be written. One line, exit 2, epoch 1's checkpoint intact (it loads, with its epoch), no temporary file
    /// left. (Before AtomicFile and the command line's catch: a stack trace, and model.safetensors.tmp left behind.)</summary>
    [Fact]
    public void AFullDiskWhileACheckpointIsWrittenIsOneLineAndKeepsThePreviousCheckpoint()
    {
        var (exit, stdout, stderr) = OnASmallDisk("7m", $"train ae --epochs 3 --limit 1000 --device simd --data {FashionMnist.ResolveFolder(null)} --out \"$DISK/run\"");
        AssertOneLineDiskError(exit, stdout, stderr);
        string run = Path.Combine(Folder, "after", "run");
        Assert.Equal("1", SafeTensors.Read(Path.Combine(run, Checkpoint.FileName)).Metadata["epoch"]);
        Assert.Empty(Directory.GetFiles(run, "*.partial", SearchOption.AllDirectories).Concat(Directory.GetFiles(run, "*.tmp")));
        Assert.Contains("epoch   1/3", stdout);
    }

    /// <summary>A report whose figures and documents do not fit: whichever file fails, one line and exit 2, and no
    /// temporary file left in the report folder.</summary>
    [Fact]
    public void AFullDiskWhileTheReportIsWrittenIsOneLine()
    {
        // The committed study's first-seed runs (their checkpoints are in the repository), the report written onto the disk.
        string[] runs = [.. new[] { "ae-32d-relu-seed42", "ae-2d-seed42", "vae-2d-seed42" }.Select(r => Path.Combine(Repository.Root, "reports", "runs", r))];
        var (exit, stdout, stderr) = OnASmallDisk("300k", $"report --models ae,vae --seeds 1 --latents 2 --betas 1 --test-limit 1000 --iwae-k 1 --manifold-n 3 --samples 600 " +
            $"--device simd --data {FashionMnist.ResolveFolder(null)} --classifier {Repository.Classifier} --from-runs {string.Join(" ", runs)} --out \"$DISK/report\"");
        AssertOneLineDiskError(exit, stdout, stderr);
        Assert.Empty(Directory.GetFiles(Path.Combine(Folder, "after"), ".*.partial", SearchOption.AllDirectories));
    }

    /// <summary>Two processes given the same --out: the second is refused with one line while the first trains, and the
    /// first's files are untouched by it.</summary>
    [Fact]
    public void ASecondWriterToTheSameFolderIsRefused()
    {
        var start = new ProcessStartInfo("dotnet", [Cli, "train", "ae", "--epochs", "40", "--limit", "3000", "--device", "simd", "--out", Folder])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using var first = Process.Start(start)!;
        try
        {
            var output = new StringBuilder();
            string? line;
            while ((line = first.StandardOutput.ReadLine()) is not null)
            {
                output.AppendLine(line);
                if (line.Contains("epoch   1/40")) break;
            }
            Assert.True(line is not null, output.ToString());
            string metrics = File.ReadAllText(Path.Combine(Folder, "metrics.csv"));
            var (exit, _, error) = Gpuae.Run("train", "vae", "--epochs", "1", "--limit", "500", "--device", "simd", "--out", Folder);
            Assert.Equal(2, exit);
            Assert.Equal($"gpuae: another gpuae process is writing to {Folder} (it holds {Path.Combine(Folder, ".gpuae.lock")}): " +
                         "wait for it to finish or choose another --out", error.Trim());
            Assert.StartsWith(metrics, File.ReadAllText(Path.Combine(Folder, "metrics.csv"))); // still the first's file, only grown
            Assert.Equal("ae", SafeTensors.Read(Path.Combine(Folder, Checkpoint.FileName)).Metadata["model"]);
        }
        finally
        {
            first.Kill();
            first.WaitForExit();
        }
        // The lock goes with the process, however it ended: the folder can be written again.
        var (again, _, err) = Gpuae.Run("train", "ae", "--resume", Folder, "--epochs", "2", "--limit", "3000", "--device", "simd");
        Assert.True(again == 0, err);
    }
}
