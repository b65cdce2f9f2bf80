using System.Globalization;
using System.Text.Json;
using GpuAe.Cli;
using GpuAe.Nets.Data;
using GpuAe.Nets.Report;
using GpuAe.Tests.Nets;
using PuppeteerSharp;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The latent explorer in headless Chromium (Debian's package; .ci/run installs it, nothing downloads one),
/// driven over CDP by PuppeteerSharp: the real mouse moves over both planes, and what the page decoded is held to
/// `gpuae decode` for the same z.</summary>
public class ExplorerBrowserTests : TempFolderTest
{
    /// <summary>Where the test looks for a browser: $GPUAE_CHROMIUM, then Debian's and other usual paths.</summary>
    static readonly string[] BrowserPaths = [Environment.GetEnvironmentVariable("GPUAE_CHROMIUM") ?? "", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    /// <summary>The screenshot reports/explorer.png is copied from (tests/TestResults is git-ignored).</summary>
    public static string ScreenshotPath => Path.Combine(Repository.Root, "tests", "TestResults", "explorer.png");

    static string DecodeWithCli(string run, double z1, double z2)
    {
        var stdout = new StringWriter(); var stderr = new StringWriter();
        string z = string.Create(CultureInfo.InvariantCulture, $"{z1:R},{z2:R}");
        int exit = GpuAeCli.Run(["decode", ExplorerPage.RunFolder(run), "--z", z, "--device", "simd"], stdout, stderr);
        Assert.True(exit == 0, stderr.ToString());
        return stdout.ToString();
    }

    /// <summary>`gpuae decode`'s 784 values for z, rounded to 8 bits as the page rounds them.</summary>
    static byte[] Reference(string run, double z1, double z2) =>
        [.. DecodeWithCli(run, z1, z2).Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)
            .Select(v => GreyPng.Byte(float.Parse(v, CultureInfo.InvariantCulture)))];

    /// <summary>The page's decoder sums in float64 and `gpuae decode` in float32 in another order: the outputs differ by
    /// ~1e-6, which moves a value across an 8-bit rounding boundary at most by one level. The issue allows 1/255.</summary>
    static void AssertSameImage(byte[] expected, byte[] drawn, string what)
    {
        Assert.Equal(784, drawn.Length);
        int worst = expected.Zip(drawn, (e, d) => Math.Abs(e - d)).Max();
        Assert.True(worst <= 1, $"{what}: the page drew a pixel {worst}/255 away from gpuae decode");
    }

    static async Task<byte[]> Pixels(IPage tab, string canvasExpression) =>
        [.. (await tab.EvaluateFunctionAsync<int[]>($"() => Array.from(({canvasExpression}).getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 === 0)"))
            .Select(v => (byte)v)];

    [Fact]
    public async Task PageDecodesUnderTheMouseWhatGpuaeDecodeDecodesAndMakesNoRequest()
    {
        string? browser = BrowserPaths.FirstOrDefault(File.Exists);
        Assert.True(browser is not null, $"no Chromium at {string.Join(", ", BrowserPaths.Where(p => p != ""))}: install Debian's package " +
            "(`apt-get install chromium`, which .ci/run does) or point $GPUAE_CHROMIUM at a Chromium or Chrome executable");
        string page = Path.Combine(Folder, Explorer.FileName);
        File.WriteAllText(page, ExplorerPage.Fresh);
        string url = new Uri(page).AbsoluteUri;

        await using var chromium = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = browser, Headless = true, UserDataDir = Path.Combine(Folder, "profile"),
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--no-default-browser-check"],
            DefaultViewport = new ViewPortOptions { Width = 1460, Height = 780 }, // the full page is taken: about 830 pixels tall
        });
        await using var tab = await chromium.NewPageAsync();
        var requests = new List<string>();
        var errors = new List<string>();
        tab.Request += (_, e) => requests.Add(e.Request.Url);
        tab.RequestFailed += (_, e) => errors.Add($"request failed: {e.Request.Url}");
        tab.Console += (_, e) => { if (e.Message.Type == ConsoleType.Error) errors.Add($"console: {e.Message.Text}"); };
        tab.PageError += (_, e) => errors.Add($"page error: {e.Message}");
        await tab.GoToAsync(url);
        await tab.WaitForFunctionAsync("() => window.explorer.ready", new WaitForFunctionOptions { Timeout = 30_000 });

        var test = RealData.Test;
        var pictures = Explorer.PictureIndices(test).ToHashSet();
        foreach (var (key, run) in new[] { ("vae", "vae-2d-seed42"), ("ae", "ae-2d-seed42") })
        {
            // Three test images' latents (#0 Ankle boot, #1 Pullover, #2 Trouser: each has a picture) and the middle of the window.
            var targets = new List<double[]>();
            foreach (int i in new[] { 0, 1, 2 }) targets.Add(await tab.EvaluateFunctionAsync<double[]>("(k, i) => explorer.planes[k].code(i)", key, i));
            targets.Add(await tab.EvaluateFunctionAsync<double[]>("k => explorer.planes[k].centre", key));
            foreach (var (target, n) in targets.Select((t, n) => (t, n)))
            {
                var client = await tab.EvaluateFunctionAsync<double[]>("(k, a, b) => explorer.planes[k].toClient(a, b)", key, target[0], target[1]);
                await tab.Mouse.MoveAsync((decimal)client[0], (decimal)client[1]);
                // What the page decoded: the z it took from the pointer event through its own pixel → latent mapping.
                var last = await tab.EvaluateFunctionAsync<JsonElement>("k => explorer.planes[k].last", key);
                double x = last.GetProperty("clientX").GetDouble(), y = last.GetProperty("clientY").GetDouble();
                Assert.True(Math.Abs(x - client[0]) <= 1 && Math.Abs(y - client[1]) <= 1, $"{key}: the pointer landed at ({x}, {y}), not ({client[0]}, {client[1]})");
                var z = last.GetProperty("z").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                Assert.Equal(await tab.EvaluateFunctionAsync<double[]>("(k, x, y) => explorer.planes[k].toLatent(x, y)", key, x, y), z);
                var drawn = await Pixels(tab, $"explorer.planes['{key}'].decodedCanvas");
                AssertSameImage(Reference(run, z[0], z[1]), drawn, $"{key} at z = ({z[0]}, {z[1]})");
                if (n < 3)
                {
                    // On a test image's latent the pointer snaps to a picture: the test image itself and its label.
                    int hover = await tab.EvaluateFunctionAsync<int>("k => explorer.planes[k].hover", key);
                    Assert.Contains(hover, pictures);
                    Assert.Equal(test.Pixels.AsSpan(hover * 784, 784).ToArray().Select(GreyPng.Byte), await Pixels(tab, $"explorer.planes['{key}'].pictureCanvas"));
                    Assert.Equal(FashionMnist.ClassNames[test.Labels[hover]],
                        await tab.EvaluateFunctionAsync<string>("k => document.querySelector(`#plane-${k} .class-name`).textContent", key));
                }
            }
        }

        // Two clicks: the first Trouser (#2) in the VAE's plane, the first Ankle boot (#0) in the AE's; a clicked
        // picture is picked in both planes, so each draws its own interpolation strip between the same two images.
        foreach (var (key, i) in new[] { ("vae", 2), ("ae", 0) })
        {
            var client = await tab.EvaluateFunctionAsync<double[]>("(k, i) => explorer.planes[k].toClient(...explorer.planes[k].code(i))", key, i);
            await tab.Mouse.ClickAsync((decimal)client[0], (decimal)client[1]);
        }
        foreach (var (key, run) in new[] { ("vae", "vae-2d-seed42"), ("ae", "ae-2d-seed42") })
        {
            var ends = await tab.EvaluateFunctionAsync<double[][]>("k => explorer.planes[k].ends.map(e => explorer.planes[k].endZ(e))", key);
            Assert.Equal(2, ends.Length);
            var steps = await tab.EvaluateFunctionAsync<string[]>("k => Array.from(document.querySelectorAll(`#plane-${k} canvas.step`), c => c.dataset.z)", key);
            Assert.Equal(10, steps.Length);
            foreach (int s in new[] { 0, 4, 9 })
            {
                double alpha = s / 9.0;
                var z = JsonSerializer.Deserialize<double[]>(steps[s])!;
                Assert.Equal((1 - alpha) * ends[0][0] + alpha * ends[1][0], z[0], 1e-12);
                Assert.Equal((1 - alpha) * ends[0][1] + alpha * ends[1][1], z[1], 1e-12);
                AssertSameImage(Reference(run, z[0], z[1]), await Pixels(tab, $"document.querySelectorAll('#plane-{key} canvas.step')[{s}]"), $"{key} strip, step {s}");
            }
        }

        // For the screenshot: the pointer on the first Sneaker's picture in the VAE's plane.
        int sneaker = Array.IndexOf(test.Labels, (byte)7);
        var onSneaker = await tab.EvaluateFunctionAsync<double[]>("i => explorer.planes.vae.toClient(...explorer.planes.vae.code(i))", sneaker);
        await tab.Mouse.MoveAsync((decimal)onSneaker[0], (decimal)onSneaker[1]);
        await tab.EvaluateExpressionAsync("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        // The two planes side by side (the comparison the page is for) and the page within the screenshot's 1,600 pixels.
        var tops = await tab.EvaluateFunctionAsync<double[]>("() => Array.from(document.querySelectorAll('.plane'), p => p.getBoundingClientRect().top)");
        Assert.True(tops.Length == 2 && tops[0] == tops[1], $"the planes are not side by side (tops {string.Join(", ", tops)})");
        Assert.InRange(await tab.EvaluateExpressionAsync<int>("document.documentElement.scrollWidth"), 1, 1460);
        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await tab.ScreenshotAsync(ScreenshotPath, new ScreenshotOptions { FullPage = true });

        var foreign = requests.Where(r => r != url && !r.StartsWith("data:", StringComparison.Ordinal) && !r.StartsWith("blob:", StringComparison.Ordinal)).ToList();
        Assert.True(foreign.Count == 0, $"the page requested {string.Join(", ", foreign)}");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Contains(url, requests);
    }
}
