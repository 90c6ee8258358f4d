/// Limited-memory BFGS minimisation with a backtracking (Armijo) line search.
///
/// Stops when the largest gradient component is at most `gradientTolerance`, when an iteration
/// no longer lowers the objective measurably, or after `maxIterations`.
struct LBFGS {
    var memory = 10
    var maxIterations = 500
    var gradientTolerance = 1e-6
    /// Asked before every iteration; a reason stops the minimisation (time limit, cancellation).
    var shouldStop: () -> String? = { nil }

    struct Result {
        var x: [Double]
        var value: Double
        var iterations: Int
        var converged: Bool
        /// Why the minimisation was stopped early, if it was.
        var stopped: String? = nil
    }

    /// `f(x, &gradient)` returns the objective at `x` and writes its gradient.
    func minimize(_ start: [Double], _ f: ([Double], inout [Double]) -> Double) -> Result {
        let n = start.count
        var x = start
        var g = [Double](repeating: 0, count: n)
        var fx = f(x, &g)
        var s: [[Double]] = [], y: [[Double]] = [], rho: [Double] = []
        var d = [Double](repeating: 0, count: n)
        var xNew = x, gNew = g
        var iteration = 0
        var stalled = 0
        while iteration < maxIterations {
            if maxAbs(g) <= gradientTolerance { return Result(x: x, value: fx, iterations: iteration, converged: true) }
            if let reason = shouldStop() {
                return Result(x: x, value: fx, iterations: iteration, converged: false, stopped: reason)
            }
            iteration += 1
            // Two-loop recursion: d = −H·g.
            for i in 0..<n { d[i] = -g[i] }
            var alpha = [Double](repeating: 0, count: s.count)
            for k in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[k] = rho[k] * dot(s[k], d)
                axpy(-alpha[k], y[k], &d)
            }
            if let lastS = s.last, let lastY = y.last {
                let gamma = dot(lastS, lastY) / dot(lastY, lastY)
                for i in 0..<n { d[i] *= gamma }
            } else {
                let norm = dot(g, g).squareRoot()
                for i in 0..<n { d[i] /= max(norm, 1) }
            }
            for k in 0..<s.count {
                let beta = rho[k] * dot(y[k], d)
                axpy(alpha[k] - beta, s[k], &d)
            }
            var slope = dot(g, d)
            if slope >= 0 {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                s.removeAll(); y.removeAll(); rho.removeAll()
                for i in 0..<n { d[i] = -g[i] / max(dot(g, g).squareRoot(), 1) }
                slope = dot(g, d)
            }
            var step = 1.0
            var fNew = 0.0
            var accepted = false
            for _ in 0..<60 {
                for i in 0..<n { xNew[i] = x[i] + step * d[i] }
                fNew = f(xNew, &gNew)
                if fNew.isFinite, fNew <= fx + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step *= 0.5
            }
            if !accepted { return Result(x: x, value: fx, iterations: iteration, converged: false) }
            var sk = [Double](repeating: 0, count: n), yk = [Double](repeating: 0, count: n)
            for i in 0..<n {
                sk[i] = xNew[i] - x[i]
                yk[i] = gNew[i] - g[i]
            }
            let sy = dot(sk, yk)
            if sy > 1e-12 * dot(yk, yk).squareRoot() * dot(sk, sk).squareRoot() {
                if s.count == memory {
                    s.removeFirst(); y.removeFirst(); rho.removeFirst()
                }
                s.append(sk); y.append(yk); rho.append(1 / sy)
            }
            let decrease = fx - fNew
            swap(&x, &xNew)
            swap(&g, &gNew)
            fx = fNew
            if decrease <= 1e-15 * max(abs(fx), 1) {
                if maxAbs(g) <= gradientTolerance * 100 { return Result(x: x, value: fx, iterations: iteration, converged: true) }
                // No measurable progress for several iterations: the objective's rounding, not the
                // optimum, limits it here (a caller may go on from x with a rescaled objective).
                stalled += 1
                if stalled == 5 { return Result(x: x, value: fx, iterations: iteration, converged: false) }
            } else {
                stalled = 0
            }
        }
        return Result(x: x, value: fx, iterations: iteration, converged: maxAbs(g) <= gradientTolerance)
    }
}

@inline(__always) func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in 0..<a.count { s += a[i] * b[i] }
    return s
}

@inline(__always) func axpy(_ a: Double, _ x: [Double], _ y: inout [Double]) {
    for i in 0..<x.count { y[i] += a * x[i] }
}

@inline(__always) func maxAbs(_ a: [Double]) -> Double {
    var m = 0.0
    for v in a { m = max(m, abs(v)) }
    return m
}
