using GpuAe.Kernels;

namespace GpuAe.Nets.Data;

/// <summary>Images (flattened, [count, 784] in [0,1]) and their class labels.</summary>
public sealed record Dataset(float[] Pixels, byte[] Labels, int Count, int Features)
{
    string? _fingerprint;

    /// <summary>SHA-256 of the pixels and labels, hex: what a checkpoint records of the data it was trained on, so that
    /// --resume refuses other data of the same size. Computed once (about a third of a second for the training set).</summary>
    public string Fingerprint => _fingerprint ??= ComputeFingerprint();

    string ComputeFingerprint()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Pixels.AsSpan(0, Count * Features)));
        hash.AppendData(Labels.AsSpan(0, Count));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>One-hot rows of the labels, [Count, classes]: a classifier's targets.</summary>
    public float[] OneHot(int classes)
    {
        var rows = new float[Count * classes];
        for (int i = 0; i < Count; i++) rows[i * classes + Labels[i]] = 1f;
        return rows;
    }

    /// <summary>The first Count − <paramref name="last"/> examples and the last <paramref name="last"/>: a training set and
    /// the validation split held out of it.</summary>
    public (Dataset First, Dataset Last) SplitLast(int last)
    {
        if (last < 1 || last >= Count) throw new ArgumentOutOfRangeException(nameof(last), $"cannot hold out {last} of {Count} examples");
        int first = Count - last;
        return (Take(first), new(Pixels.AsSpan(first * Features, last * Features).ToArray(), Labels.AsSpan(first, last).ToArray(), last, Features));
    }

    /// <summary>The first <paramref name="count"/> examples (tests and quick runs).</summary>
    public Dataset Take(int count)
    {
        count = Math.Min(count, Count);
        return new(Pixels.AsSpan(0, count * Features).ToArray(), Labels.AsSpan(0, count).ToArray(), count, Features);
    }
}

public static class FashionMnist
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    public const string EnvironmentVariable = "GPUAE_DATA";
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The class a user names: its name in any case ("coat", "Ankle boot"), or its number 0–9.</summary>
    public static int ClassOf(string text)
    {
        string t = text.Trim();
        int named = Array.FindIndex(ClassNames, n => string.Equals(n, t, StringComparison.OrdinalIgnoreCase));
        if (named >= 0) return named;
        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index) && index < ClassNames.Length)
            return index;
        throw new UserError($"--class: '{text}' is not a Fashion-MNIST class: use a name ({string.Join(", ", ClassNames)}) or its number 0–9");
    }

    /// <summary>--data wins, then $GPUAE_DATA, then the Debian package's folder.</summary>
    public static string ResolveFolder(string? option)
    {
        if (!string.IsNullOrWhiteSpace(option)) return option;
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env) ? DefaultFolder : env;
    }

    public static (Dataset Train, Dataset Test) Load(string folder) => (LoadSplit(folder, "train"), LoadSplit(folder, "t10k"));

    public static Dataset LoadSplit(string folder, string prefix)
    {
        string images = Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz");
        string labels = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (var path in new[] { images, labels })
            if (!File.Exists(path))
                throw new UserError($"Fashion-MNIST file not found: {path}. Install it with `./setup.sh` (runs `apt-get update && apt-get install dataset-fashion-mnist`, with sudo when not root), or point --data / ${EnvironmentVariable} at a folder holding the four IDX .gz files");
        var (pixels, count, rows, cols) = Idx.ReadImages(images);
        var labelBytes = Idx.ReadLabels(labels);
        if (labelBytes.Length != count)
            throw new UserError($"{labels} holds {labelBytes.Length} labels but {images} holds {count} images: the files do not belong together");
        return new Dataset(pixels, labelBytes, count, rows * cols);
    }
}
