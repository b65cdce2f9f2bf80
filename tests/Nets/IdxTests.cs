using System.Buffers.Binary;
using System.IO.Compression;
using GpuAe.Kernels;
using GpuAe.Nets.Data;
using GpuAe.Nets;
using Xunit;

namespace GpuAe.Tests.Nets;

public class IdxTests : TempFolderTest
{

    static byte[] Header(int magic, params int[] dims)
    {
        var bytes = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        return bytes;
    }

    string WriteGzip(string name, byte[] content)
    {
        string path = Path.Combine(Folder, name);
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gzip.Write(content);
        return path;
    }

    /// <summary>A 3-image 2×2 data set with labels 0, 9, 4, in the layout of the real files.</summary>
    void WriteSmallSet(string prefix, int labelCount = 3)
    {
        WriteGzip($"{prefix}-images-idx3-ubyte.gz", [.. Header(Idx.ImagesMagic, 3, 2, 2), 0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0]);
        WriteGzip($"{prefix}-labels-idx1-ubyte.gz", [.. Header(Idx.LabelsMagic, labelCount), .. new byte[] { 0, 9, 4, 7 }.Take(labelCount)]);
    }

    [Fact]
    public void ReadsImagesScaledToUnitIntervalAndLabels()
    {
        WriteSmallSet("train");
        var data = FashionMnist.LoadSplit(Folder, "train");
        Assert.Equal(3, data.Count);
        Assert.Equal(4, data.Features);
        Assert.Equal([0f, 1f, 0.2f, 0.4f], data.Pixels.AsSpan(0, 4).ToArray());
        Assert.Equal(4f / 255f, data.Pixels[7]);
        Assert.Equal([0, 9, 4], data.Labels);
    }

    [Fact]
    public void WrongMagicIsAClearError()
    {
        string path = WriteGzip("x.gz", [.. Header(Idx.LabelsMagic, 3, 2, 2), .. new byte[12]]);
        var e = Assert.Throws<UserError>(() => Idx.ReadImages(path));
        Assert.Contains("magic 0x00000801, expected 0x00000803", e.Message);
    }

    [Fact]
    public void TruncatedFileIsAClearError()
    {
        string path = WriteGzip("x.gz", [.. Header(Idx.ImagesMagic, 3, 2, 2), 1, 2, 3]);
        var e = Assert.Throws<UserError>(() => Idx.ReadImages(path));
        Assert.Contains("truncated or corrupt", e.Message);
        Assert.Contains("3 images of 2×2", e.Message);
    }

    /// <summary>An images or labels file cut anywhere, in the IDX bytes (header or data) or in the gzip stream itself,
    /// is a one-line user error, never another exception.</summary>
    [Fact]
    public void FilesTruncatedAnywhereAreClearErrors()
    {
        byte[] images = [.. Header(Idx.ImagesMagic, 3, 2, 2), 0, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0];
        byte[] labels = [.. Header(Idx.LabelsMagic, 3), 0, 9, 4];
        for (int cut = 0; cut < images.Length; cut++)
            Assert.Throws<UserError>(() => Idx.ReadImages(WriteGzip("i.gz", images[..cut])));
        for (int cut = 0; cut < labels.Length; cut++)
            Assert.Throws<UserError>(() => Idx.ReadLabels(WriteGzip("l.gz", labels[..cut])));
        string whole = WriteGzip("w.gz", images);
        var gz = File.ReadAllBytes(whole);
        for (int cut = 1; cut < gz.Length; cut++)
        {
            File.WriteAllBytes(whole, gz[..cut]);
            Assert.Throws<UserError>(() => Idx.ReadImages(whole));
        }
    }

    [Fact]
    public void FileThatIsNotGzipIsAClearError()
    {
        string path = Path.Combine(Folder, "plain.gz");
        File.WriteAllBytes(path, [.. Header(Idx.ImagesMagic, 1, 1, 1), 7]);
        var e = Assert.Throws<UserError>(() => Idx.ReadImages(path));
        Assert.Contains("not a valid gzip file", e.Message);
    }

    [Fact]
    public void LabelCountThatDiffersFromImagesIsAClearError()
    {
        WriteSmallSet("train", labelCount: 4);
        var e = Assert.Throws<UserError>(() => FashionMnist.LoadSplit(Folder, "train"));
        Assert.Contains("4 labels but", e.Message);
    }

    [Fact]
    public void MissingFolderNamesThePathAndThePackage()
    {
        string missing = Path.Combine(Folder, "nope");
        var e = Assert.Throws<UserError>(() => FashionMnist.Load(missing));
        Assert.Contains(Path.Combine(missing, "train-images-idx3-ubyte.gz"), e.Message);
        Assert.Contains("./setup.sh", e.Message);
    }

    [Fact]
    public void DataFolderComesFromTheOptionThenTheEnvironment()
    {
        Assert.Equal("/given", FashionMnist.ResolveFolder("/given"));
        string? saved = Environment.GetEnvironmentVariable(FashionMnist.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(FashionMnist.EnvironmentVariable, "/from-env");
            Assert.Equal("/from-env", FashionMnist.ResolveFolder(null));
            Environment.SetEnvironmentVariable(FashionMnist.EnvironmentVariable, null);
            Assert.Equal(FashionMnist.DefaultFolder, FashionMnist.ResolveFolder(null));
        }
        finally { Environment.SetEnvironmentVariable(FashionMnist.EnvironmentVariable, saved); }
    }
}
