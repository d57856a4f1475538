// A small 16-bit processor: register file, ALU with a multiplier and a barrel shifter, and a
// fetch/execute state machine. A heavier yosys workload than counter.v, for measuring the
// run time of code compiled from a profile of counter.v (docs/PERFORMANCE.md).
module cpu (
    input  wire        clk,
    input  wire        rst,
    input  wire [15:0] instr,
    input  wire [15:0] din,
    output reg  [15:0] dout,
    output reg  [7:0]  pc,
    output reg         we
);
    reg [15:0] regs [0:15];
    reg [1:0]  state;
    wire [3:0] op = instr[15:12];
    wire [3:0] rd = instr[11:8];
    wire [3:0] ra = instr[7:4];
    wire [3:0] rb = instr[3:0];
    wire [15:0] a = regs[ra];
    wire [15:0] b = regs[rb];
    reg  [15:0] result;
    wire [31:0] product = a * b;
    always @(*) begin
        case (op)
            4'h0: result = a + b;
            4'h1: result = a - b;
            4'h2: result = a & b;
            4'h3: result = a | b;
            4'h4: result = a ^ b;
            4'h5: result = a << b[3:0];
            4'h6: result = a >> b[3:0];
            4'h7: result = $signed(a) >>> b[3:0];
            4'h8: result = product[15:0];
            4'h9: result = product[31:16];
            4'ha: result = (a < b) ? 16'd1 : 16'd0;
            4'hb: result = ($signed(a) < $signed(b)) ? 16'd1 : 16'd0;
            4'hc: result = din;
            4'hd: result = {a[7:0], a[15:8]};
            4'he: result = ~a;
            default: result = {8'd0, instr[7:0]};
        endcase
    end
    integer i;
    always @(posedge clk) begin
        if (rst) begin
            state <= 2'd0;
            pc <= 8'd0;
            we <= 1'b0;
            dout <= 16'd0;
            for (i = 0; i < 16; i = i + 1)
                regs[i] <= 16'd0;
        end else begin
            case (state)
                2'd0: begin
                    we <= 1'b0;
                    state <= 2'd1;
                end
                2'd1: begin
                    regs[rd] <= result;
                    state <= 2'd2;
                end
                2'd2: begin
                    if (op == 4'hf && a == 16'd0)
                        pc <= instr[7:0];
                    else
                        pc <= pc + 8'd1;
                    dout <= regs[rd];
                    we <= (op == 4'hc);
                    state <= 2'd0;
                end
                default: state <= 2'd0;
            endcase
        end
    end
endmodule
