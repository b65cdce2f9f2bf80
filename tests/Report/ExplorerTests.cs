using System.Text;
using System.Text.RegularExpressions;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Data;
using GpuAe.Nets.Model;
using GpuAe.Nets.Report;
using GpuAe.Simd;
using GpuAe.Tests.Nets;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The latent explorer page without a browser: its decoder numbers are the checkpoints', the CVAE's latents μ of
/// q(z|x, y) with the test labels, its pictures and labels the test set's, it is self-contained and within its size
/// budget, and the committed reports/explorer.html is what the code writes from the committed runs.
/// (ExplorerBrowserTests runs it.)</summary>
public class ExplorerTests
{
    public static TheoryData<string> Pages => ["committed", "fresh"];
    static string Page(string which) => which == "committed" ? File.ReadAllText(ExplorerPage.Committed) : ExplorerPage.Fresh;

    [Theory]
    [MemberData(nameof(Pages))]
    public void PageDecodersAreTheCheckpointsFloatForFloat(string which)
    {
        var page = ExplorerPage.Read(Page(which));
        Assert.Equal(ExplorerPage.Runs, page.Planes.Select(p => p.Run));
        Assert.Equal(["vae", "ae", "cvae"], page.Planes.Select(p => p.Key));
        Assert.Equal([true, false, true], page.Planes.Select(p => p.Prior));
        Assert.Equal([0, 0, 10], page.Planes.Select(p => p.Condition));
        foreach (var plane in page.Planes)
        {
            var expected = ExplorerPage.CheckpointDecoder(plane.Run);
            // 202,256; the CVAE's decoder.0.weight is [256, 2 + 10] (z's columns, then the class's): 204,816.
            Assert.Equal((2 + plane.Condition) * 256 + 256 + 784 * 256 + 784, expected.Length);
            // Exact: the page holds the checkpoint's float32 bits (compared as integers, so −0 and NaN would count too).
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), plane.Decoder.Select(BitConverter.SingleToInt32Bits));
        }
    }

    /// <summary>The CVAE's plane is μ of q(z|x, y) of each test image encoded with its own label: as Inference.Encode
    /// gives it, exactly in the fresh page, and within the committed page's tolerance (below). Encoding with the wrong
    /// labels moves the points far beyond that tolerance, so the check tells the labels' codes from others.</summary>
    [Theory]
    [MemberData(nameof(Pages))]
    public void CvaePlaneIsMuOfQzxyOfEachTestImageWithItsLabel(string which)
    {
        var plane = ExplorerPage.Read(Page(which)).Planes.Single(p => p.Key == "cvae");
        Assert.Equal("cvae-2d-seed42", plane.Run);
        var test = RealData.Test;
        using var backend = new SimdBackend();
        var model = Models.Load(backend, Path.Combine(ExplorerPage.RunFolder(plane.Run), Checkpoint.FileName), 500).Model;
        Assert.True(model.Kind.IsConditional);
        var labels = ExplorerPage.TestLabels(model)!;
        Assert.Equal(test.Labels.Select(l => (int)l), labels);
        var expected = Inference.Encode(backend, model, test.Pixels, test.Count, labels);
        if (which == "fresh") Assert.Equal(expected, plane.Codes);
        else Values.AssertClose(expected, plane.Codes, 1e-4, "cvae latents");
        var otherLabels = Inference.Encode(backend, model, test.Pixels, test.Count, [.. labels.Select(l => (l + 1) % 10)]);
        double moved = expected.Zip(otherLabels, (a, b) => Math.Abs(a - b) / (1 + Math.Abs(a))).Average();
        Assert.True(moved > 1e-2, $"encoding with the next class moves the CVAE's codes by only {moved:E2} on average: the check could not tell the labels");
    }

    [Fact]
    public void PicturesAndLabelsAreTheTestSets()
    {
        var page = ExplorerPage.Read(File.ReadAllText(ExplorerPage.Committed));
        var test = RealData.Test;
        Assert.Equal(FashionMnist.ClassNames, page.Classes);
        Assert.Equal(test.Labels, page.Labels);
        // The first 100 test images of each class, in test-set order, with their exact bytes.
        Assert.Equal(1000, page.Pictures.Length);
        var taken = new int[10];
        Assert.Equal(Enumerable.Range(0, test.Count).Where(i => taken[test.Labels[i]]++ < 100), page.Pictures);
        var expected = page.Pictures.SelectMany(i => test.Pixels.AsSpan(i * 784, 784).ToArray().Select(v => (byte)Math.Round(v * 255))).ToArray();
        Assert.Equal(expected, page.PicturePixels);
        Assert.All(page.Planes, p => Assert.Equal(2 * test.Count, p.Codes.Length));
    }

    /// <summary>Everything but the latents must be identical; the latents are the encoders' outputs on this machine,
    /// whose sums may run in another order on another SIMD width: 1e-4 relative is far below a screen pixel (the
    /// planes span about 8 and 180 units over 380 pixels) and far above float32 reordering error (~1e-6).
    /// With GPUAE_WRITE_EXPLORER=1 the test first writes reports/explorer.html itself, from the committed runs through
    /// <see cref="ExplorerPage.Fresh"/> (Explorer.Html, SIMD backend, UTF-8 without a BOM as Explorer.Write): the way
    /// to rewrite the committed page while `gpuae report` passes the explorer the study's two planes only.</summary>
    [Fact]
    public void CommittedPageIsWhatTheCodeWritesFromTheCommittedRuns()
    {
        if (Environment.GetEnvironmentVariable("GPUAE_WRITE_EXPLORER") == "1")
            File.WriteAllText(ExplorerPage.Committed, ExplorerPage.Fresh, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        var committed = ExplorerPage.Read(File.ReadAllText(ExplorerPage.Committed));
        var fresh = ExplorerPage.Read(ExplorerPage.Fresh);
        Assert.True(fresh.Template == committed.Template,
            "reports/explorer.html differs from what src/Nets/Report/Explorer.html writes: rewrite it with " +
            "`GPUAE_WRITE_EXPLORER=1 dotnet test -c Release --filter FullyQualifiedName~CommittedPageIsWhatTheCodeWrites`");
        Assert.Equal(fresh.Labels, committed.Labels);
        Assert.Equal(fresh.Pictures, committed.Pictures);
        Assert.Equal(fresh.PicturePixels, committed.PicturePixels);
        Assert.Equal(fresh.Planes.Select(p => p.Run), committed.Planes.Select(p => p.Run));
        for (int p = 0; p < fresh.Planes.Length; p++)
        {
            Assert.Equal((fresh.Planes[p].Key, fresh.Planes[p].Run, fresh.Planes[p].Prior, fresh.Planes[p].Condition),
                (committed.Planes[p].Key, committed.Planes[p].Run, committed.Planes[p].Prior, committed.Planes[p].Condition));
            Assert.Equal(fresh.Planes[p].Decoder, committed.Planes[p].Decoder);
            Values.AssertClose(fresh.Planes[p].Codes, committed.Planes[p].Codes, 1e-4, $"{fresh.Planes[p].Run} latents");
        }
    }

    /// <summary>The page's budget: 3 MB was the first issue's for the two 2-D models (about 2.65 MB). The CVAE's plane
    /// (issue 31) adds a third decoder, 204,816 exact float32 numbers that take 0.94 MB in the page, and its codes
    /// (0.09 MB): 3.68 MB in all. It cannot be brought under 3 MB honestly: the weights must stay exact (the page
    /// matches `gpuae decode` to 1/255), and dropping every embedded picture (0.59 MB) would still leave 3.09 MB and
    /// lose the nearest test image, the links between planes and the interpolation's ends. So the budget is 3.75 MB:
    /// the three planes and 2 % for the template to grow; a fourth plane, or more pictures, must argue for more.
    /// Nothing in the page may load anything from elsewhere.</summary>
    [Fact]
    public void CommittedPageIsSelfContainedAndWithinItsBudget()
    {
        const long Budget = 3_750_000;
        long size = new FileInfo(ExplorerPage.Committed).Length;
        Assert.True(size <= Budget, $"reports/explorer.html is {size:N0} bytes, over {Budget:N0}");
        string html = File.ReadAllText(ExplorerPage.Committed);
        Assert.DoesNotMatch(new Regex(@"\b(src|href|action|poster)\s*=\s*(?![""']?data:)", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"https?://|url\(|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource|import\(|\bWorker\(", RegexOptions.IgnoreCase), html);
    }
}
